'use strict';
// Loads the native addon for this platform: the file packed next to this one by
// `make node-package`, else the per-platform package napi-rs publishes.
// No install script runs and no compiler is needed.

const path = require('node:path');
const { platformName } = require('./platform.js');

function load() {
  const name = platformName();
  const candidates = [path.join(__dirname, `ssecast.${name}.node`), `ssecast-${name}`];
  for (const candidate of candidates) {
    try {
      return require(candidate);
    } catch (error) {
      if (error.code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  throw new Error(
    `ssecast: no prebuilt addon for ${name} (looked for ${candidates.join(' and ')})`,
  );
}

module.exports = load();
