'use strict';
/**
 * Serves tests/browser/pages/ over HTTP on its own port, so the test page's
 * origin differs from the engine's and every stream is a CORS request.
 */

const fs = require('node:fs/promises');
const http = require('node:http');
const path = require('node:path');
const { listenOnFreePort } = require('./ports');

const ROOT = path.resolve(__dirname, '../pages');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

class PageServer {
  /** @returns {Promise<PageServer>} a server listening on a free port of 127.0.0.1 */
  static async start() {
    const pages = new PageServer();
    pages.port = await listenOnFreePort(pages.server);
    return pages;
  }

  /** @private use PageServer.start */
  constructor() {
    this.server = http.createServer((req, res) => this.#serve(req, res));
  }

  /** `http://127.0.0.1:<port>`: the origin the engine must allow. */
  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * The URL of the test client page, configured by its query string.
   * @param {Record<string, string>} params
   */
  clientUrl(params) {
    return `${this.origin}/client.html?${new URLSearchParams(params)}`;
  }

  async #serve(req, res) {
    const name = path.basename(new URL(req.url, this.origin).pathname);
    const type = TYPES[path.extname(name)];
    try {
      if (!type) throw new Error('not served');
      const body = await fs.readFile(path.join(ROOT, name));
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }

  /** Stops listening and closes idle keep-alive connections. */
  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

module.exports = { PageServer };
