//! The Lua scripts that keep a topic's history in Redis, and how they are run:
//! `EVALSHA`, loading the script (`SCRIPT LOAD`) first and again whenever Redis
//! has forgotten it (a restart, `SCRIPT FLUSH`).
//!
//! A topic's history is two keys (see [`Channels::history`](crate::channels::Channels::history)):
//!
//! - a hash: `epoch` (16 hex digits), `top` (the last offset given), `bytes`
//!   (what the kept publications count against `max_bytes`), and `k:KEY` →
//!   offset for each idempotency key still in the history (its time to live
//!   is a day longer than the stream's: a stream that expired whole, its
//!   publications all too old, leaves the epoch and the offset behind, and
//!   the next trim clears its bytes and keys);
//! - a stream with one entry per kept publication, under the ID `OFFSET-0` (so
//!   `XRANGE` reads by offset), with the fields `e` (the version-1 envelope),
//!   `s` (its payload and key bytes), `t` (when, in Redis' milliseconds) and `k`
//!   (the key, if any).
//!
//! Each script runs atomically in Redis, so every node sees the same positions
//! and the `PUBLISH` of a publication happens in position order.

use std::sync::OnceLock;

use redis::FromRedisValue;
use redis::aio::ConnectionManager;

/// The helpers every script starts with. Numbers that reach Redis go through
/// `string.format('%d')`: Lua would print large ones in exponent form.
macro_rules! common {
    () => {
        r"
local meta, log = KEYS[1], KEYS[2]

local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local function int(n)
  return string.format('%d', n)
end

-- The topic's epoch; a topic without one starts a new history under `candidate`.
local function ensure_epoch(candidate)
  if redis.call('HSETNX', meta, 'epoch', candidate) == 1 then
    redis.call('HSET', meta, 'top', 0, 'bytes', 0)
    redis.call('DEL', log)
    return candidate
  end
  return redis.call('HGET', meta, 'epoch')
end

local function offset_of(id)
  return tonumber(string.match(id, '^(%d+)'))
end

-- Drops the oldest publications while any bound is exceeded, forgetting their keys.
local function trim(now, max_messages, max_bytes, max_age)
  local count = redis.call('XLEN', log)
  local bytes = tonumber(redis.call('HGET', meta, 'bytes') or '0')
  if count == 0 then
    -- Empty, or expired whole (quiet for max_age): nothing is kept, no key either.
    if bytes ~= 0 or redis.call('HLEN', meta) > 3 then
      for _, field in ipairs(redis.call('HKEYS', meta)) do
        if string.sub(field, 1, 2) == 'k:' then redis.call('HDEL', meta, field) end
      end
      redis.call('HSET', meta, 'bytes', 0)
    end
    return
  end
  local from, batch, dropped, keep = '-', 1, nil, false
  while not keep and count > 0 do
    local entries = redis.call('XRANGE', log, from, '+', 'COUNT', batch)
    if #entries == 0 then break end
    for _, entry in ipairs(entries) do
      local fields = {}
      for i = 1, #entry[2], 2 do fields[entry[2][i]] = entry[2][i + 1] end
      local expired = now - tonumber(fields.t) > max_age
      if not (expired or count > max_messages or bytes > max_bytes) then
        keep = true
        break
      end
      count = count - 1
      bytes = bytes - tonumber(fields.s)
      if fields.k then redis.call('HDEL', meta, 'k:' .. fields.k) end
      dropped = offset_of(entry[1])
    end
    from = '(' .. entries[#entries][1]
    batch = 64
  end
  if dropped then
    redis.call('XTRIM', log, 'MINID', '=', int(dropped + 1) .. '-0')
    redis.call('HSET', meta, 'bytes', int(bytes))
  end
end

-- The kept publications after offset `since` (all of them for nil), as
-- {offset, envelope} pairs.
local function after(since)
  local start = '-'
  if since then start = '(' .. int(since) .. '-0' end
  local out = {}
  for _, entry in ipairs(redis.call('XRANGE', log, start, '+')) do
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'e' then out[#out + 1] = {offset_of(entry[1]), fields[i + 1]} end
    end
  end
  return out
end
"
    };
}

/// Records a publication. ARGV: the epoch for a new history, the envelope, its
/// bytes, `1` with a key (then the key) or `0`, max_messages, max_bytes,
/// max_age and the hash's time to live (both in ms), the topic's channel.
/// Returns `{epoch, offset, duplicate}`.
pub(crate) static PUBLISH: Script = Script::new(concat!(
    common!(),
    r"
local now = now_ms()
local max_messages, max_bytes, max_age = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local epoch = ensure_epoch(ARGV[1])
trim(now, max_messages, max_bytes, max_age)
local keyed = ARGV[4] == '1'
if keyed then
  local first = redis.call('HGET', meta, 'k:' .. ARGV[5])
  if first then return {epoch, tonumber(first), 1} end
end
local top = redis.call('HINCRBY', meta, 'top', 1)
local id = int(top) .. '-0'
if keyed then
  redis.call('XADD', log, id, 'e', ARGV[2], 's', ARGV[3], 't', int(now), 'k', ARGV[5])
  redis.call('HSET', meta, 'k:' .. ARGV[5], int(top))
else
  redis.call('XADD', log, id, 'e', ARGV[2], 's', ARGV[3], 't', int(now))
end
redis.call('HINCRBY', meta, 'bytes', ARGV[3])
trim(now, max_messages, max_bytes, max_age)
redis.call('PEXPIRE', log, ARGV[8])
redis.call('PEXPIRE', meta, ARGV[9])
redis.call('PUBLISH', ARGV[10], '\2' .. epoch .. string.format('%020d', top) .. ARGV[2])
return {epoch, top, 0}
"
));

/// Reads the publications after a position. ARGV: the epoch for a new
/// history, the position's epoch (empty for none) and offset, max_messages,
/// max_bytes, max_age and the hash's time to live (ms). Returns `{epoch, top,
/// recovered, {{offset, envelope}...}}`, with the rules of `MemoryHistory`.
pub(crate) static READ: Script = Script::new(concat!(
    common!(),
    r"
local epoch = ensure_epoch(ARGV[1])
trim(now_ms(), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
redis.call('PEXPIRE', meta, ARGV[7])
local top = tonumber(redis.call('HGET', meta, 'top'))
local since = tonumber(ARGV[3])
if ARGV[2] ~= epoch or since > top then return {epoch, top, 0, {}} end
local head = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
local first = top + 1
if #head > 0 then first = offset_of(head[1][1]) end
if first > since + 1 then return {epoch, top, 0, {}} end
return {epoch, top, 1, after(since)}
"
));

/// What a node missed: the kept publications after its last one, or all of
/// them if the history's epoch is not that one's. Creates and trims nothing.
/// ARGV: the last publication's epoch (empty for none) and offset. Returns
/// `{epoch, {{offset, envelope}...}}`, with an empty epoch for a topic that
/// has no history.
pub(crate) static AFTER: Script = Script::new(concat!(
    common!(),
    r"
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then return {'', {}} end
if epoch == ARGV[1] then return {epoch, after(tonumber(ARGV[2]))} end
return {epoch, after(nil)}
"
));

/// A Lua script run by its SHA1 digest, which Redis reports when loading it.
#[derive(Debug)]
pub(crate) struct Script {
    source: &'static str,
    sha: OnceLock<String>,
}

impl Script {
    const fn new(source: &'static str) -> Self {
        Script { source, sha: OnceLock::new() }
    }

    /// Runs the script on the history keys `keys` with `args`.
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        connection: &mut ConnectionManager,
        keys: &[String; 2],
        args: &[&[u8]],
    ) -> redis::RedisResult<T> {
        let sha = match self.sha.get() {
            Some(sha) => sha.clone(),
            None => self.load(connection).await?,
        };
        match evalsha(&sha, keys, args).query_async(connection).await {
            Err(error) if error.code() == Some("NOSCRIPT") => {
                let sha = self.load(connection).await?;
                evalsha(&sha, keys, args).query_async(connection).await
            }
            result => result,
        }
    }

    async fn load(&self, connection: &mut ConnectionManager) -> redis::RedisResult<String> {
        let sha: String = redis::cmd("SCRIPT").arg("LOAD").arg(self.source).query_async(connection).await?;
        // The digest of a given source is the same on every Redis.
        Ok(self.sha.get_or_init(|| sha).clone())
    }
}

fn evalsha(sha: &str, keys: &[String; 2], args: &[&[u8]]) -> redis::Cmd {
    let mut command = redis::cmd("EVALSHA");
    command.arg(sha).arg(keys.len()).arg(&keys[0]).arg(&keys[1]);
    for arg in args {
        command.arg(*arg);
    }
    command
}
