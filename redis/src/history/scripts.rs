//! The Lua scripts that keep a topic's history in Redis (run as [`Script`]s).
//!
//! A topic's history is three keys (see [`Channels::history`](crate::channels::Channels::history)):
//!
//! - a hash: `epoch` (16 hex digits), `top` (the last offset given), `total`
//!   (the bytes of every publication recorded since the epoch began),
//!   `bytes` (what the kept ones count against `max_bytes`), and `head`,
//!   `head_t`, `head_b`: the first kept entry's offset, time and `total`
//!   before it, so that a call with nothing to trim reads no entry. Its time
//!   to live is a day longer than the stream's: a stream that expired whole,
//!   its publications all too old, leaves the epoch and the offset behind;
//! - a stream of the kept publications, a run of consecutive ones per
//!   entry, under the ID `OFFSET-0` of its first (so `XRANGE` and
//!   `XREVRANGE` find a publication by offset), with the fields `e` (their
//!   version-1 envelopes, each after its length: the body of the batch form
//!   of the positioned envelope, see [`envelope`](crate::envelope)), `b`
//!   (`total` before them) and `t` (when, in Redis' milliseconds). Offsets in
//!   the stream are consecutive, from the oldest kept to `top`;
//! - a sorted set of the idempotency keys still in the history, each scored
//!   with its publication's offset.
//!
//! A batch recorded by one call goes into as few entries as the bounds allow:
//! an entry holds at most an eighth of `max_messages` (and 64) publications
//! and about an eighth of `max_bytes`, because the history is trimmed by
//! whole entries. The bounds are upper bounds: up to an entry's worth fewer
//! may be kept. Trimming never reads the publications it drops, and reads
//! entries only when the head no longer fits a bound: the first entry to keep
//! is found from the offsets (`max_messages`), then, if it is too old or the
//! bytes from it on exceed `max_bytes`, by bisection on `t` and `b`, which
//! only grow along the stream. Each script runs atomically in
//! Redis, so every node sees the same positions and publications go out in
//! position order.

use crate::script::Script;

/// The helpers every script starts with. Numbers that reach Redis go through
/// `string.format('%d')`: Lua would print large ones in exponent form. A call
/// into Redis from a script costs more than most commands themselves, so the
/// hash is read in one `HMGET` and written in one `HSET`, and a call that has
/// nothing to trim reads no entry.
macro_rules! common {
    () => {
        r"
local meta, log, keys = KEYS[1], KEYS[2], KEYS[3]

local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local function int(n)
  return string.format('%d', n)
end

local function offset_of(id)
  return tonumber(string.match(id, '^(%d+)'))
end

-- The history's hash as a table; nil for a topic without history.
local function load()
  local f = redis.call('HMGET', meta, 'epoch', 'top', 'total', 'head', 'head_t', 'head_b')
  if not f[1] then return nil end
  local top = tonumber(f[2])
  return {
    epoch = f[1], top = top, total = tonumber(f[3] or '0'),
    head = tonumber(f[4] or int(top + 1)), head_t = tonumber(f[5] or '0'), head_b = tonumber(f[6] or '0'),
  }
end

local function save(h)
  redis.call('HSET', meta, 'epoch', h.epoch, 'top', int(h.top), 'total', int(h.total),
    'bytes', int(h.total - h.head_b), 'head', int(h.head), 'head_t', int(h.head_t), 'head_b', int(h.head_b))
end

-- The topic's history; a topic without one starts a new history under `candidate`.
local function open(candidate)
  local h = load()
  if h then return h end
  redis.call('DEL', log, keys)
  h = {epoch = candidate, top = 0, total = 0, head = 1, head_t = 0, head_b = 0}
  save(h)
  return h
end

-- The first entry at or after `start` (an XRANGE bound): the offset of its
-- first publication, when it was recorded and `total` before it; nil if none.
local function entry_from(start)
  local found = redis.call('XRANGE', log, start, '+', 'COUNT', 1)[1]
  if not found then return nil end
  local fields, t, b = found[2], nil, nil
  for i = 1, #fields, 2 do
    if fields[i] == 't' then t = tonumber(fields[i + 1]) elseif fields[i] == 'b' then b = tonumber(fields[i + 1]) end
  end
  return offset_of(found[1]), t, b
end

-- Drops the oldest entries of `h` while any bound is exceeded, and their
-- keys; whether the head moved.
local function trim(h, now, max_messages, max_bytes, max_age)
  local function fits(t, b)
    return now - t <= max_age and h.total - b <= max_bytes
  end
  if h.head > h.top or (h.top - h.head < max_messages and fits(h.head_t, h.head_b)) then return false end
  -- The stream lives max_age after the last publication: gone, it took everything.
  if redis.call('XLEN', log) == 0 then
    redis.call('DEL', keys)
    h.head, h.head_t, h.head_b = h.top + 1, 0, h.total
    return true
  end
  -- The first entry starting at or after `offset`, and whether it and those
  -- after it fit the age and byte bounds.
  local function probe(offset)
    local start, t, b = entry_from(int(offset) .. '-0')
    if not start then return nil, false end
    return start, fits(t, b), t, b
  end
  -- Within the count: the first entry that starts inside the last max_messages.
  local cut, ok, t, b = probe(math.max(h.head, h.top - max_messages + 1))
  if cut and not ok then
    -- A later entry, found by bisection on the offsets where entries start.
    local last = offset_of(redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)[1][1])
    local low, high, found = cut + 1, last + 1, nil
    while low < high do
      local middle = math.floor((low + high) / 2)
      local start, fits_from, t_from, b_from = probe(middle)
      if fits_from then high, found, t, b = middle, start, t_from, b_from else low = middle + 1 end
    end
    cut, ok = found, found ~= nil
  end
  if not ok then cut, t, b = h.top + 1, 0, h.total end
  redis.call('XTRIM', log, 'MINID', '=', int(cut) .. '-0')
  redis.call('ZREMRANGEBYSCORE', keys, '-inf', '(' .. int(cut))
  h.head, h.head_t, h.head_b = cut, t, b
  return true
end

-- The entries holding the kept publications after offset `since` (all of
-- them for nil), as {offset of the first, envelopes} pairs: the first entry
-- may hold some up to `since` too.
local function after(since)
  local start = '-'
  if since then
    local holding = redis.call('XREVRANGE', log, int(since + 1) .. '-0', '-', 'COUNT', 1)[1]
    if holding then start = holding[1] end
  end
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

/// Records publications of one topic, in order, and publishes the new ones
/// to every node in one message (the batch form of the positioned envelope).
/// ARGV: the epoch for a new history, max_messages, max_bytes, max_age and
/// the hash's time to live (both in ms), the topic's channel; then four per
/// publication: its envelope after its length (as an entry holds it), its
/// bytes, `1` with a key (then the key) or `0` and an empty string. Returns `{epoch, {offset, duplicate, offset,
/// duplicate, ...}}`.
///
/// One call records a whole batch: the history is trimmed before (so that a
/// key whose publication is gone no longer counts) and after, not between
/// publications, so a key is checked against what the history held when the
/// batch began and what the batch itself added. The keys' set lives as long
/// as the hash from its last key on; trimming removes the keys of what it drops.
pub(crate) static PUBLISH: Script = Script::new(concat!(
    common!(),
    r"
local now = now_ms()
local max_messages, max_bytes, max_age = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local h = open(ARGV[1])
local changed = trim(h, now, max_messages, max_bytes, max_age)
local first_top, start_total, was_empty = h.top, h.total, h.head > h.top
local entry_count = math.max(1, math.min(64, math.floor(max_messages / 8)))
local entry_bytes = math.max(1, math.floor(max_bytes / 8))
local out, sent, keyed_any = {}, {}, false
local entry, entry_first, entry_size, entry_base = {}, nil, 0, 0
local function add_entry()
  if entry_first then
    local body = table.concat(entry)
    redis.call('XADD', log, int(entry_first) .. '-0', 'e', body, 'b', int(entry_base), 't', int(now))
    sent[#sent + 1] = body
    entry, entry_first, entry_size = {}, nil, 0
  end
end
for i = 7, #ARGV, 4 do
  local envelope, keyed, key = ARGV[i], ARGV[i + 2] == '1', ARGV[i + 3]
  local seen = nil
  if keyed then seen = redis.call('ZSCORE', keys, key) end
  if seen then
    out[#out + 1] = tonumber(seen)
    out[#out + 1] = 1
  else
    h.top = h.top + 1
    if not entry_first then entry_first, entry_base = h.top, h.total end
    entry[#entry + 1] = envelope
    if keyed then
      redis.call('ZADD', keys, h.top, key)
      keyed_any = true
    end
    local bytes = tonumber(ARGV[i + 1])
    h.total, entry_size = h.total + bytes, entry_size + bytes
    if #entry >= entry_count or entry_size >= entry_bytes then add_entry() end
    out[#out + 1] = h.top
    out[#out + 1] = 0
  end
end
add_entry()
if h.top ~= first_top then
  if was_empty then h.head, h.head_t, h.head_b = first_top + 1, now, start_total end
  redis.call('PUBLISH', ARGV[6], '\2' .. h.epoch .. string.format('%020d', first_top + 1) .. table.concat(sent))
  trim(h, now, max_messages, max_bytes, max_age)
  redis.call('PEXPIRE', log, ARGV[4])
  changed = true
end
if changed then save(h) end
redis.call('PEXPIRE', meta, ARGV[5])
if keyed_any then redis.call('PEXPIRE', keys, ARGV[5]) end
return {h.epoch, out}
"
));

/// Reads the publications after a position. ARGV: the epoch for a new
/// history, the position's epoch (empty for none) and offset, max_messages,
/// max_bytes, max_age and the hash's time to live (ms). Returns `{epoch, top,
/// recovered, {{offset, envelopes}...}}` (the entries, see `after`), with
/// the rules of `MemoryHistory`.
pub(crate) static READ: Script = Script::new(concat!(
    common!(),
    r"
local h = open(ARGV[1])
if trim(h, now_ms(), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])) then save(h) end
redis.call('PEXPIRE', meta, ARGV[7])
local since = tonumber(ARGV[3])
if ARGV[2] ~= h.epoch or since > h.top or h.head > since + 1 then return {h.epoch, h.top, 0, {}} end
return {h.epoch, h.top, 1, after(since)}
"
));

/// What a node missed: the kept publications after its last one, or all of
/// them if the history's epoch is not that one's. Creates and trims nothing.
/// ARGV: the last publication's epoch (empty for none) and offset. Returns
/// `{epoch, {{offset, envelopes}...}}` (the entries, see `after`), with an
/// empty epoch for a topic that has no history.
pub(crate) static AFTER: Script = Script::new(concat!(
    common!(),
    r"
local h = load()
if not h then return {'', {}} end
if h.epoch == ARGV[1] then return {h.epoch, after(tonumber(ARGV[2]))} end
return {h.epoch, after(nil)}
"
));
