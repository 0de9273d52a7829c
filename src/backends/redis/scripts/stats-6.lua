#!lua flags=no-writes
--[[
  The queue's four counts and when its next ready job became ready, in one read-only call (what
  the metrics gauges sample). Due delayed jobs count as ready, as in size-3.lua.

  KEYS[1] ready     list   popped from the tail (RPOP): the tail is the next job to run
  KEYS[2] delayed   zset   id -> release time
  KEYS[3] claimed   zset   id -> claimedAt
  KEYS[4] abandoned zset
  KEYS[5] data      hash   id -> stored job
  KEYS[6] priority  zset   id -> score: ready jobs of a non-zero priority (includes/priority)

  ARGV[1] now (Unix ms)

  Returns { ready, claimed, delayed, abandoned, oldestReadyAt or '' }. oldestReadyAt is the
  earliest of the ready times (release time, else enqueue time) of the next list job, of the
  first job of the highest and of the lowest priority in the priority set (each is the oldest of
  its priority but for recycled claims), of each group's front job, and the earliest due delayed
  job's release time.
]]
--- @include "includes/header"

local PRIORITY_BAND = 8589934592 -- 2^33, as in includes/priority

local listed = redis.call('LLEN', KEYS[1])
local prioritized = redis.call('ZCARD', KEYS[6])
local due = redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1])
local delayed = redis.call('ZCARD', KEYS[2]) - due
local oldest = nil
if due > 0 then
  local first = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, 1)
  oldest = tonumber(first[2])
end
local function consider(id)
  local _, release, enqueued = header_parse(redis.call('HGET', KEYS[5], id))
  local at = math.max(tonumber(release) or 0, tonumber(enqueued) or 0)
  if at > 0 and (oldest == nil or at < oldest) then oldest = at end
end
if listed > 0 then consider(redis.call('LINDEX', KEYS[1], -1)) end
if prioritized > 0 then
  consider(redis.call('ZRANGE', KEYS[6], 0, 0)[1])
  local last = redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')
  local band = math.floor(tonumber(last[2]) / PRIORITY_BAND) * PRIORITY_BAND
  consider(redis.call('ZRANGE', KEYS[6], string.format('%.0f', band), '+inf', 'BYSCORE', 'LIMIT', 0, 1)[1])
end
-- Flow-control groups (includes/groups): each group's ready jobs and its front job.
local grouped = 0
local base = string.sub(KEYS[1], 1, -6)
if redis.call('EXISTS', base .. 'g-turns') == 1 then
  for _, g in ipairs(redis.call('LRANGE', base .. 'g-turns', 0, -1)) do
    if g ~= '' then
      local length = redis.call('LLEN', base .. 'g:' .. g)
      grouped = grouped + length
      if length > 0 then consider(redis.call('LINDEX', base .. 'g:' .. g, -1)) end
    end
  end
end
return {
  listed + prioritized + grouped + due,
  redis.call('ZCARD', KEYS[3]),
  delayed,
  redis.call('ZCARD', KEYS[4]),
  oldest and string.format('%d', oldest) or '',
}
