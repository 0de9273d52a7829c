#!lua flags=no-writes
--[[
  The queue's four counts and when its next ready job became ready, in one read-only call (what
  the metrics gauges sample). Due delayed jobs count as ready, as in size-2.lua.

  KEYS[1] ready     list   popped from the tail (RPOP): the tail is the next job to run
  KEYS[2] delayed   zset   id -> release time
  KEYS[3] claimed   zset   id -> claimedAt
  KEYS[4] abandoned zset
  KEYS[5] data      hash   id -> stored job

  ARGV[1] now (Unix ms)

  Returns { ready, claimed, delayed, abandoned, oldestReadyAt or '' }. oldestReadyAt is the
  earlier of the next list job's ready time (its release time, else its enqueue time) and the
  earliest due delayed job's release time.
]]
--- @include "includes/header"

local listed = redis.call('LLEN', KEYS[1])
local due = redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1])
local delayed = redis.call('ZCARD', KEYS[2]) - due
local oldest = nil
if due > 0 then
  local first = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, 1)
  oldest = tonumber(first[2])
end
if listed > 0 then
  local id = redis.call('LINDEX', KEYS[1], -1)
  local _, release, enqueued = header_parse(redis.call('HGET', KEYS[5], id))
  local at = math.max(tonumber(release) or 0, tonumber(enqueued) or 0)
  if at > 0 and (oldest == nil or at < oldest) then oldest = at end
end
return {
  listed + due,
  redis.call('ZCARD', KEYS[3]),
  delayed,
  redis.call('ZCARD', KEYS[4]),
  oldest and string.format('%d', oldest) or '',
}
