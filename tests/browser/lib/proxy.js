'use strict';
/**
 * A TCP proxy between the browser and the engine that a test can cut. It also
 * reads the head of each request going through it, so tests can check what the
 * browser itself sent (the URL, Last-Event-ID, Cookie).
 */

const net = require('node:net');
const { listenOnFreePort } = require('./ports');

const MAX_HEAD_BYTES = 16 * 1024;

/**
 * Parses an HTTP/1.1 request head ("GET /x HTTP/1.1\r\nName: value\r\n...").
 * @param {string} text the head without its closing blank line
 * @returns {{method: string, target: string, headers: Record<string, string>}}
 */
function parseHead(text) {
  const [requestLine, ...lines] = text.split('\r\n');
  const [method, target] = requestLine.split(' ');
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { method, target, headers };
}

class CuttableProxy {
  /**
   * Listens on a free port of 127.0.0.1 and forwards every connection to
   * 127.0.0.1:`targetPort`.
   * @param {number} targetPort
   * @returns {Promise<CuttableProxy>}
   */
  static async start(targetPort) {
    const proxy = new CuttableProxy(targetPort);
    proxy.port = await listenOnFreePort(proxy.server);
    return proxy;
  }

  /** @private use CuttableProxy.start */
  constructor(targetPort) {
    /** The first request head of each connection, in the order they arrived. */
    this.requests = [];
    /** How many connections the browser opened through the proxy. */
    this.accepted = 0;
    this.pairs = new Set();
    this.server = net.createServer((client) => this.#forward(client, targetPort));
  }

  /** `http://127.0.0.1:<port>` */
  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  #forward(client, targetPort) {
    this.accepted++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    let head = '';
    const sniff = (chunk) => {
      head += chunk.toString('latin1');
      const blank = head.indexOf('\r\n\r\n');
      if (blank >= 0 || head.length > MAX_HEAD_BYTES) {
        client.off('data', sniff);
        if (blank >= 0) this.requests.push(parseHead(head.slice(0, blank)));
      }
    };
    client.on('data', sniff);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /**
   * Drops every open connection at once, as a network failure would; the proxy
   * keeps listening so the browser can reconnect.
   * @returns {number} how many connections were cut
   */
  cut() {
    const count = this.pairs.size;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    return count;
  }

  /** Cuts every connection and stops listening. */
  async close() {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

module.exports = { CuttableProxy };
