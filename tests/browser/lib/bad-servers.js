'use strict';
/**
 * Servers that misbehave the way broken deployments do, each counting the
 * connections or requests it got (with their times) so a test can tell a
 * client that backs off from one that loops.
 */

const http = require('node:http');
const net = require('node:net');
const { listenOnFreePort } = require('./ports');

class BadServer {
  /**
   * Starts a server of `kind` on a free port of 127.0.0.1:
   * - `one-byte`: answers every connection with one byte of a status line, then closes it;
   * - `wrong-type`: answers every request `200` with `text/html` (and CORS headers).
   * @param {'one-byte' | 'wrong-type'} kind
   * @returns {Promise<BadServer>}
   */
  static async start(kind) {
    const bad = new BadServer(kind);
    bad.port = await listenOnFreePort(bad.server);
    return bad;
  }

  /** @private use BadServer.start */
  constructor(kind) {
    /** When each connection (one-byte) or GET (wrong-type) arrived, in ms (performance.now). */
    this.hits = [];
    this.sockets = new Set();
    if (kind === 'one-byte') {
      this.server = net.createServer((socket) => {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {});
        socket.once('data', () => {
          this.hits.push(performance.now());
          socket.end('H');
        });
      });
    } else {
      this.server = http.createServer((req, res) => {
        const origin = req.headers.origin;
        if (req.method === 'GET') this.hits.push(performance.now());
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          ...(origin ? { 'access-control-allow-origin': origin, 'access-control-allow-headers': '*' } : {}),
        });
        res.end('<!doctype html><title>maintenance</title><p>back soon</p>');
      });
    }
  }

  /** `http://127.0.0.1:<port>` */
  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and drops every connection. */
  async close() {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

module.exports = { BadServer };
