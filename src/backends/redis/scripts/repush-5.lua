#!lua
--[[
  Puts copies of abandoned jobs back as fresh ready jobs (P-10): a new id, attempts 0, enqueued
  now, not delayed; the abandoned originals are deleted. A stored job whose header cannot be
  parsed is dropped and counted. At most `limit` per call; the caller repeats while `more` is 1.

  KEYS[1] abandoned zset   id -> last claimedAt
  KEYS[2] data      hash   id -> stored job
  KEYS[3] attempts  hash   id -> claims so far
  KEYS[4] ready     list
  KEYS[5] dedup     hash   sha1 -> holders

  ARGV[1] now (Unix ms)
  ARGV[2] id nonce (random, per call); new ids are nonce .. '.' .. n
  ARGV[3] limit

  Publishes on the queue's wake channel when the ready list was empty.

  Returns { repushed, dropped, more }
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/wake"

local limit = tonumber(ARGV[3])
local ids = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
local repushed, dropped = 0, 0
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
    local length = redis.call('LPUSH', KEYS[4], new_id)
    if repushed == 1 then wake_if_was_empty(KEYS[4], length, 1) end
    dedup_hold(KEYS[5], header_sha1(fresh))
  else
    dropped = dropped + 1
  end
end
local more = 0
if #ids >= limit then more = 1 end
return { repushed, dropped, more }
