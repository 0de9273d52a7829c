#!lua
--[[
  One maintenance step (P-9, P-10, P-20): recycles expired claims to the FRONT of the ready list
  (as MediaWiki does; a job of a non-zero priority to the front of its priority), abandons
  expired claims that used their last try, prunes abandoned jobs older than abandonedTTL,
  promotes due delayed jobs, drops ended rate windows of groups. A recycled or abandoned claim of
  a group frees its slot; a recycled one goes to the front of its group's list. An abandoned claim
  others wait for fails them (includes/flow). Each part handles at most `limit` jobs;
  the caller repeats while `more` is 1. Atomic, so passes from many processes never double-count.

  KEYS[1] claimed   zset   id -> claimedAt
  KEYS[2] tokens    hash   id -> live claim token
  KEYS[3] attempts  hash   id -> claims so far
  KEYS[4] data      hash   id -> stored job
  KEYS[5] ready     list
  KEYS[6] abandoned zset   id -> last claimedAt
  KEYS[7] dedup     hash   sha1 -> holders
  KEYS[8] delayed   zset   id -> release time
  KEYS[9] priority  zset   id -> score: ready jobs of a non-zero priority (includes/priority)
  KEYS[10] priority-seq string
  KEYS[11] delayed-high set  ids of delayed jobs of a positive priority

  ARGV[1] now (Unix ms)
  ARGV[2] claim cutoff: claims taken at or before it have expired ('' = no claim tracking)
  ARGV[3] maxTries
  ARGV[4] prune cutoff: abandoned jobs last claimed at or before it are deleted
  ARGV[5] limit per part

  Publishes on the queue's wake channel when jobs were recycled or released while none was
  ready.

  Returns { recycled, abandoned, pruned, released, more, flow_ready }   flow_ready: jobs that
          became ready because a dependency was abandoned (policy ignore)
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/flow"
--- @include "includes/promote"
--- @include "includes/wake"

local limit = tonumber(ARGV[5])
local max_tries = tonumber(ARGV[3])
local recycled, abandoned, pruned = 0, 0, 0
local more = 0
local flow_ready = 0
local was_empty = ready_empty(KEYS[5], KEYS[9])

if ARGV[2] ~= '' then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, limit)
  if #expired / 2 >= limit then more = 1 end
  for i = 1, #expired, 2 do
    local id, claimed_at = expired[i], expired[i + 1]
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    local blob = redis.call('HGET', KEYS[4], id)
    group_settle(group_base(KEYS[5]), blob)
    local attempts = tonumber(redis.call('HGET', KEYS[3], id) or '0')
    if attempts >= max_tries then
      redis.call('ZADD', KEYS[6], claimed_at, id)
      abandoned = abandoned + 1
      if flow_links(group_base(KEYS[5])) then
        flow_ready = flow_ready + flow_settle(group_base(KEYS[5]), id, false, ARGV[1])
      end
    else
      ready_put(KEYS[5], KEYS[9], KEYS[10], id, blob, true)
      dedup_hold(KEYS[7], header_sha1(blob))
      recycled = recycled + 1
    end
  end
end

local old = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', ARGV[4], 'LIMIT', 0, limit)
if #old >= limit then more = 1 end
if #old > 0 then
  redis.call('ZREM', KEYS[6], unpack(old))
  redis.call('HDEL', KEYS[4], unpack(old))
  redis.call('HDEL', KEYS[3], unpack(old))
  pruned = #old
end

local base = group_base(KEYS[5])
local ended = redis.call('ZRANGEBYSCORE', base .. 'g-window', '-inf', ARGV[1], 'LIMIT', 0, limit)
if #ended >= limit then more = 1 end
if #ended > 0 then
  redis.call('ZREM', base .. 'g-window', unpack(ended))
  redis.call('HDEL', base .. 'g-rate', unpack(ended))
end

local released = promote_due(KEYS[8], KEYS[5], KEYS[4], KEYS[9], KEYS[10], KEYS[11], ARGV[1], limit)
if released >= limit then more = 1 end
if was_empty and recycled + released > 0 then wake(KEYS[5]) end
return { recycled, abandoned, pruned, released, more, flow_ready }
