'use strict';
// The napi-rs name of this platform, such as `linux-x64-gnu` or `darwin-arm64`.
// The prebuilt addon is `ssecast.<name>.node` in this package, or the package
// `ssecast-<name>` when the addons are published one package per platform.

function isMusl() {
  const report = process.report && process.report.getReport();
  return !(report && report.header && report.header.glibcVersionRuntime);
}

function platformName() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

module.exports = { platformName };
