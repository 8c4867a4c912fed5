//! The Lua scripts that keep presence in Redis (see [`record`](super::record)
//! for the forms of members, holders and events, and
//! [`Channels`](crate::channels::Channels) for the keys). Each runs atomically,
//! so a unique info is decided once for the whole cluster, and the events of
//! a topic go out in the order its members changed.
//!
//! The reaper in `BEAT` builds the keys of other nodes and topics from the
//! prefix, so presence needs a single Redis (not Redis Cluster).

use crate::script::Script;

/// The helpers every script starts with.
macro_rules! common {
    () => {
        r"
-- Field `n` of a record of length-prefixed fields.
local function field(text, n)
  local at = 1
  for i = 1, n do
    local length = tonumber(string.sub(text, at, at + 7), 16)
    if i == n then return string.sub(text, at + 8, at + 7 + length) end
    at = at + 8 + length
  end
end

local function prefixed(text)
  return string.format('%08x', #text) .. text
end

-- `record` with `joined` as its joining time (its fifth field).
local function joined_at(record, joined)
  local out = {}
  for i = 1, 4 do out[i] = prefixed(field(record, i)) end
  out[5] = prefixed(joined)
  return table.concat(out)
end

-- Removes the member `id` (`record`) from `topic`, with its unique info if it
-- holds it, and the topic's joining clock with its last member.
local function remove(prefix, topic, id, record)
  local members = prefix .. 'presence:' .. topic
  redis.call('HDEL', members, id)
  if redis.call('HLEN', members) == 0 then redis.call('DEL', prefix .. 'joined:' .. topic) end
  local names = prefix .. 'names:' .. topic
  local info = field(record, 4)
  local holder = redis.call('HGET', names, info)
  if holder and field(holder, 1) == id then redis.call('HDEL', names, info) end
end

-- Removes every member of node `gone`, with leave events, and the node;
-- returns how many members it had.
local function reap(prefix, channel, nodes, gone)
  local node_members = prefix .. 'members:' .. gone
  local removed = 0
  for _, entry in ipairs(redis.call('SMEMBERS', node_members)) do
    local session, topic = string.match(entry, '^(%d+) (.*)$')
    local id = gone .. '/' .. session
    local record = redis.call('HGET', prefix .. 'presence:' .. topic, id)
    if record then
      remove(prefix, topic, id, record)
      redis.call('PUBLISH', channel, 'L' .. prefixed(topic) .. record)
      removed = removed + 1
    end
  end
  redis.call('DEL', node_members, prefix .. 'alive:' .. gone)
  redis.call('ZREM', nodes, gone)
  return removed
end
"
    };
}

/// Records a member. KEYS: the topic's members, its unique infos, the node's
/// members, the nodes' heartbeats, the topic's joining clock. ARGV: the
/// prefix, the topic, the member's id, its record, its entry in the node's
/// set, `1` if its info is unique (or `0`), the info, `1` and the owner token
/// (or `0` and nothing), the events' channel, how: `0` a new member, `1`
/// recorded again silently, `2` recorded again with a join event (both keep
/// its joining time), the node. Returns
/// `{'joined', record}`, `{'took', old record}` or `{'taken', holder's record}`.
///
/// A member's joining time is Redis' clock, made strictly increasing per
/// topic, so that every node lists a topic's members in the same order; one
/// that takes over keeps the old member's time, and so its place.
pub(crate) static TRACK: Script = Script::new(concat!(
    common!(),
    r"
local members, names, node_members, nodes, clock = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, topic, id, record, entry = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local unique, info, has_owner, owner = ARGV[6] == '1', ARGV[7], ARGV[8] == '1', ARGV[9]
local channel, again, announce, node = ARGV[10], ARGV[11] ~= '0', ARGV[11] ~= '1', ARGV[12]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if not redis.call('ZSCORE', nodes, node) then
  -- Not beating yet (or reaped while frozen): reapable from now on.
  redis.call('ZADD', nodes, now, node)
end
local took = nil
if unique then
  local holder = redis.call('HGET', names, info)
  local held_by = holder and field(holder, 1)
  local held = held_by and held_by ~= id and redis.call('HGET', members, held_by)
  if held then
    local rest = string.sub(holder, 9 + #held_by)
    if not (has_owner and rest == '1' .. owner) then return {'taken', held} end
    -- The same owner (a client back on a new connection): it takes over, silently.
    remove(prefix, topic, held_by, held)
    redis.call('SREM', prefix .. 'members:' .. field(held, 1), field(held, 2) .. ' ' .. topic)
    record = joined_at(record, field(held, 5))
    took = held
  end
  local mark = '0'
  if has_owner then mark = '1' .. owner end
  redis.call('HSET', names, info, prefixed(id) .. mark)
end
if not took and not again then
  local joined = math.max(now, tonumber(redis.call('GET', clock) or '0') + 1)
  redis.call('SET', clock, string.format('%d', joined))
  record = joined_at(record, string.format('%d', joined))
end
redis.call('HSET', members, id, record)
redis.call('SADD', node_members, entry)
if took then
  redis.call('PUBLISH', channel, 'T' .. prefixed(topic) .. took)
  return {'took', took}
end
if announce then redis.call('PUBLISH', channel, 'J' .. prefixed(topic) .. record) end
return {'joined', record}
"
));

/// Removes a member and announces its leave. KEYS: the topic's members, the
/// node's members. ARGV: the prefix, the topic, the member's id, its entry in
/// the node's set, the events' channel. Returns 1, or 0 if it was not a member
/// (taken over, or reaped).
pub(crate) static UNTRACK: Script = Script::new(concat!(
    common!(),
    r"
local members, node_members = KEYS[1], KEYS[2]
local prefix, topic, id, entry, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call('SREM', node_members, entry)
local record = redis.call('HGET', members, id)
if not record then return 0 end
remove(prefix, topic, id, record)
redis.call('PUBLISH', channel, 'L' .. prefixed(topic) .. record)
return 1
"
));

/// A node's heartbeat, and the reaper: the members of every node silent for
/// longer than the timeout leave, with leave events, and the node is marked
/// reaped (for a day) so that it knows, should it beat again. KEYS: the
/// nodes' heartbeats. ARGV: the prefix, this node, the timeout (ms), the
/// events' channel. Returns `{status, nodes reaped, members removed}`, the
/// status `known` (this node was beating), `reaped` (it had been reaped) or
/// `unknown` (never seen, or Redis lost its data).
///
/// Reaping a node with many members blocks Redis while it runs (about a
/// microsecond per member and event).
pub(crate) static BEAT: Script = Script::new(concat!(
    common!(),
    r"
local nodes = KEYS[1]
local prefix, node, timeout, channel = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- `alive:NODE` exists from a node's first beat until it is reaped: missing
-- later, Redis lost its data (a track may have put the node back in `nodes`).
local status = 'known'
if redis.call('DEL', prefix .. 'reaped:' .. node) == 1 then
  status = 'reaped'
elseif redis.call('EXISTS', prefix .. 'alive:' .. node) == 0 then
  status = 'unknown'
end
redis.call('SET', prefix .. 'alive:' .. node, '1')
redis.call('ZADD', nodes, now, node)
local reaped, removed = 0, 0
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', nodes, '-inf', '(' .. string.format('%d', now - timeout))) do
  removed = removed + reap(prefix, channel, nodes, dead)
  redis.call('SET', prefix .. 'reaped:' .. dead, '1', 'PX', 86400000)
  reaped = reaped + 1
end
return {status, reaped, removed}
"
));

/// A node leaving as it stops: whatever members it still has leave, with
/// leave events, and it leaves the heartbeats. KEYS: the nodes' heartbeats.
/// ARGV: the prefix, this node, the events' channel. Returns how many members
/// it still had.
pub(crate) static LEAVE: Script = Script::new(concat!(
    common!(),
    r"
return reap(ARGV[1], ARGV[3], KEYS[1], ARGV[2])
"
));
