'use strict';
/**
 * An HTTP proxy that buffers whole responses, as some corporate proxies and
 * antivirus gateways do: it forwards each request to the engine and sends the
 * answer only once the engine has finished it, with a Content-Length. An SSE
 * stream never reaches the browser through it; a long-poll answer does.
 */

const http = require('node:http');
const { listenOnFreePort } = require('./ports');

class BufferingProxy {
  /**
   * Listens on a free port of 127.0.0.1 in front of 127.0.0.1:`targetPort`.
   * @param {number} targetPort
   * @returns {Promise<BufferingProxy>}
   */
  static async start(targetPort) {
    const proxy = new BufferingProxy(targetPort);
    proxy.port = await listenOnFreePort(proxy.server);
    return proxy;
  }

  /** @private use BufferingProxy.start */
  constructor(targetPort) {
    /** Every request's URL, in order. */
    this.urls = [];
    this.server = http.createServer((req, res) => {
      this.urls.push(req.url);
      const upstream = http.request(
        { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => {
            const body = Buffer.concat(chunks);
            const headers = { ...response.headers, 'content-length': String(body.length) };
            delete headers['transfer-encoding'];
            res.writeHead(response.statusCode, headers).end(body);
          });
          response.on('error', () => res.destroy());
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
  }

  /** `http://127.0.0.1:<port>` */
  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and drops every connection. */
  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

module.exports = { BufferingProxy };
