'use strict';
/** Free TCP ports on 127.0.0.1, found by letting the kernel pick one. */

const net = require('node:net');

/**
 * Returns a port that was free a moment ago. Another process may take it
 * before the caller binds it, so callers retry when their bind fails.
 * @returns {Promise<number>}
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Listens `server` on a free port of 127.0.0.1 and returns the port.
 * @param {import('node:net').Server} server
 * @returns {Promise<number>}
 */
function listenOnFreePort(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

module.exports = { freePort, listenOnFreePort };
