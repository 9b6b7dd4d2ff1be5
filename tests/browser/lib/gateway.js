'use strict';
/**
 * An HTTP proxy in front of the engine that records every request (time,
 * method, URL, headers) and may answer a GET itself instead of forwarding it:
 * a 503 storm before the engine is reached, a 401 for an expired token. Its
 * own answers carry the CORS headers a page on another origin needs, Retry-After
 * exposed.
 */

const http = require('node:http');
const { listenOnFreePort } = require('./ports');

/**
 * An answer the gateway gives itself.
 * @typedef {{ status: number, headers?: Record<string, string>, body?: string }} Reply
 */

class Gateway {
  /**
   * Listens on a free port of 127.0.0.1 in front of 127.0.0.1:`targetPort`.
   * @param {number} targetPort
   * @param {(request: {method: string, url: string, headers: object}, index: number) => Reply | null} [answer]
   *   called for each GET with its index among the GETs; null forwards it
   * @returns {Promise<Gateway>}
   */
  static async start(targetPort, answer = () => null) {
    const gateway = new Gateway(targetPort, answer);
    gateway.port = await listenOnFreePort(gateway.server);
    return gateway;
  }

  /** @private use Gateway.start */
  constructor(targetPort, answer) {
    /**
     * Every request: { at (ms, performance.now of this process), method, url,
     * headers, answered (the status the gateway gave itself, or null), open }.
     */
    this.requests = [];
    this.server = http.createServer((req, res) => this.#handle(req, res, targetPort, answer));
  }

  /** `http://127.0.0.1:<port>` */
  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The GET requests, in order. */
  gets() {
    return this.requests.filter((r) => r.method === 'GET');
  }

  #handle(req, res, targetPort, answer) {
    const entry = { at: performance.now(), method: req.method, url: req.url, headers: req.headers, open: true };
    this.requests.push(entry);
    res.on('close', () => {
      entry.open = false;
    });
    const reply = req.method === 'GET' ? answer(entry, this.gets().length - 1) : null;
    entry.answered = reply ? reply.status : null;
    if (reply) {
      const origin = req.headers.origin;
      const cors = origin
        ? {
            'access-control-allow-origin': origin,
            'access-control-allow-credentials': 'true',
            'access-control-expose-headers': 'Retry-After',
            vary: 'Origin',
          }
        : {};
      res.writeHead(reply.status, { ...cors, ...reply.headers }).end(reply.body ?? '');
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode, response.headers);
        response.pipe(res);
        response.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  /**
   * Drops every open connection, as a network failure would; keeps listening.
   * @returns {number} how many requests were still being answered
   */
  cut() {
    const open = this.requests.filter((r) => r.open).length;
    this.server.closeAllConnections();
    return open;
  }

  /** Stops listening and drops every connection. */
  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A JSON error body as the engine writes it. */
function errorReply(status, code, message, headers = {}) {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ error: message, code }),
  };
}

module.exports = { Gateway, errorReply };
