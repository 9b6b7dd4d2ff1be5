//! The Lua scripts the backplane runs in Redis. Each runs atomically; the
//! `redis` crate sends it by hash (`EVALSHA`) and loads it once when the server
//! answers `NOSCRIPT`.

use std::sync::LazyLock;

use redis::Script;

/// Publishes one event in one step: the next sequence number, the entry in the
/// topic's stream (trimmed to the history bounds), the topic's newest seq, and
/// the announcement on the topic's channel. Returns the sequence number.
///
/// Redis commands per publish: `HMGET`, `HINCRBY`, `SET`, `XADD`, `PUBLISH`,
/// and `PEXPIRE` when `history_ttl_ms` is set: one round trip.
///
/// KEYS: meta hash, topic stream, topic last-seq key.
/// ARGV: expected incarnation, channel, body (the frame after its `id:` line),
/// publisher's id (empty: the engine's), stream length bound, age bound in ms
/// (0: none), the highest seq the node has seen.
///
/// Fails with `SSECAST_INCARNATION` when the cluster's incarnation is not the
/// one the node uses (Redis lost its data, or another node replaced it), or
/// when the counter is below a seq the node has seen (Redis came back without
/// its newest writes): a node never hands out an id that may exist already.
pub(super) static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local meta = redis.call('HMGET', KEYS[1], 'inc', 'seq')
local inc = meta[1]
if inc ~= ARGV[1] then
  return redis.error_reply('SSECAST_INCARNATION the cluster incarnation is ' .. tostring(inc))
end
if tonumber(meta[2] or '0') < tonumber(ARGV[7]) then
  return redis.error_reply('SSECAST_INCARNATION the cluster counter went back')
end
local seq = string.format('%d', redis.call('HINCRBY', KEYS[1], 'seq', 1))
local ttl = tonumber(ARGV[6])
local prev
if ttl > 0 then
  prev = redis.call('SET', KEYS[3], seq, 'PX', ttl, 'GET')
else
  prev = redis.call('SET', KEYS[3], seq, 'GET')
end
prev = prev or '0'
local custom = ARGV[4]
local id = custom
if custom == '' then id = inc .. '-' .. seq end
local frame = 'id: ' .. id .. '\n' .. ARGV[3]
if custom == '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], seq .. '-0', 'p', prev, 'f', frame)
else
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], seq .. '-0', 'p', prev, 'f', frame, 'c', custom)
end
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('PUBLISH', ARGV[2], seq .. ' ' .. prev .. '\n' .. custom .. '\n' .. frame)
return seq
"#,
    )
});

/// The error prefix of [`PUBLISH`] when the incarnation changed.
pub(super) const INCARNATION_ERROR: &str = "SSECAST_INCARNATION";

/// Joins a node to the cluster's incarnation: creates it when Redis has none,
/// and replaces it when the counter went back below what this node saw (Redis
/// restarted without the newest writes), so that no id is ever handed out
/// twice. Returns `{incarnation, counter}`.
///
/// KEYS: meta hash. ARGV: a fresh incarnation, the incarnation this node knew
/// (empty: none), the highest seq it saw under it.
///
/// Only a node that saw more than Redis counts can tell that writes were lost:
/// run Redis with `appendfsync always` (or wait for a replica) for the promise
/// that no acknowledged event is ever lost.
pub(super) static ADOPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('HSETNX', KEYS[1], 'inc', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'seq', ARGV[3])
end
local inc = redis.call('HGET', KEYS[1], 'inc')
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
if inc == ARGV[2] and tonumber(seq) < tonumber(ARGV[3]) then
  inc = ARGV[1]
  seq = ARGV[3]
  redis.call('HSET', KEYS[1], 'inc', inc, 'seq', seq)
end
return {inc, seq}
"#,
    )
});
