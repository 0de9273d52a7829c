#!lua
--[[
  Puts copies of abandoned jobs back as fresh ready jobs (P-10): a new id, attempts 0, enqueued
  now, not delayed, the same priority and group (a grouped one to the back of its group's list); the abandoned originals are deleted. A stored job whose
  header cannot be parsed is dropped and counted. At most `limit` per call; the caller repeats
  while `more` is 1.

  KEYS[1] abandoned zset   id -> last claimedAt
  KEYS[2] data      hash   id -> stored job
  KEYS[3] attempts  hash   id -> claims so far
  KEYS[4] ready     list
  KEYS[5] dedup     hash   sha1 -> holders
  KEYS[6] priority  zset   id -> score: ready jobs of a non-zero priority (includes/priority)
  KEYS[7] priority-seq string

  ARGV[1] now (Unix ms)
  ARGV[2] id nonce (random, per call); new ids are nonce .. '.' .. n
  ARGV[3] limit

  Publishes on the queue's wake channel when no job was ready.

  Returns { repushed, dropped, more }
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/wake"

local limit = tonumber(ARGV[3])
local ids = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
local repushed, dropped = 0, 0
local was_empty = #ids > 0 and ready_empty(KEYS[4], KEYS[6])
for _, id in ipairs(ids) do
  local blob = redis.call('HGET', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  local fresh = blob and header_rewrite(blob, '', ARGV[1])
  if fresh then
    repushed = repushed + 1
    local new_id = ARGV[2] .. '.' .. repushed
    redis.call('HSET', KEYS[2], new_id, fresh)
    ready_put(KEYS[4], KEYS[6], KEYS[7], new_id, fresh, false)
    if repushed == 1 and was_empty then wake(KEYS[4]) end
    dedup_hold(KEYS[5], header_sha1(fresh))
  else
    dropped = dropped + 1
  end
end
local more = 0
if #ids >= limit then more = 1 end
return { repushed, dropped, more }
