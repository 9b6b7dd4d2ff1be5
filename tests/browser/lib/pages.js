'use strict';
/**
 * Serves tests/browser/pages/ over HTTP on its own port, so the test page's
 * origin differs from the engine's and every stream is a CORS request. Also
 * serves the browser client's sources (bindings-node/client/) under /client/,
 * its classic-script build (core/assets/) under /assets/, and files a test
 * generates (a bundle) where it adds them.
 */

const fs = require('node:fs/promises');
const http = require('node:http');
const path = require('node:path');
const { listenOnFreePort } = require('./ports');

const REPO = path.resolve(__dirname, '../../..');
/** URL prefix -> directory served flat (no subdirectories). */
const DIRECTORIES = {
  '/client/': path.join(REPO, 'bindings-node/client'),
  '/assets/': path.join(REPO, 'core/assets'),
  '/': path.resolve(__dirname, '../pages'),
};
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
};

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
    /** Generated files by path: { type, body }. */
    this.generated = new Map();
  }

  /**
   * Serves `body` at `pathname` from now on.
   * @param {string} pathname e.g. `/react-app.js`
   * @param {string} body
   * @param {string} [type] defaults from the extension
   */
  add(pathname, body, type = TYPES[path.extname(pathname)]) {
    this.generated.set(pathname, { type, body });
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
    return this.pageUrl('client.html', params);
  }

  /**
   * The URL of a page of tests/browser/pages, configured by its query string.
   * @param {string} name
   * @param {Record<string, string>} [params]
   */
  pageUrl(name, params = {}) {
    return `${this.origin}/${name}?${new URLSearchParams(params)}`;
  }

  async #serve(req, res) {
    const { pathname } = new URL(req.url, this.origin);
    const generated = this.generated.get(pathname);
    if (generated) {
      res.writeHead(200, { 'content-type': generated.type, 'cache-control': 'no-store' });
      res.end(generated.body);
      return;
    }
    const prefix = Object.keys(DIRECTORIES).find((p) => pathname.startsWith(p));
    const name = path.basename(pathname);
    const type = TYPES[path.extname(name)];
    try {
      if (!type || pathname !== prefix + name) throw new Error('not served');
      const body = await fs.readFile(path.join(DIRECTORIES[prefix], name));
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
