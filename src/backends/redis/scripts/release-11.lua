#!lua
--[[
  Returns a claimed job to ready (at the back of the list, or of its priority in the priority
  set), or to delayed, iff the token still holds its
  claim (P-11, P-12); abandons it instead when its stored attempts reached maxTries (P-9). The
  attempt count is kept. Also used with maxTries 0 to quarantine a job that cannot be decoded.

  KEYS[1] tokens    hash   id -> live claim token
  KEYS[2] claimed   zset   id -> claimedAt
  KEYS[3] attempts  hash   id -> claims so far
  KEYS[4] data      hash   id -> stored job
  KEYS[5] ready     list
  KEYS[6] delayed   zset   id -> release time
  KEYS[7] abandoned zset   id -> last claimedAt
  KEYS[8] dedup     hash   sha1 -> holders
  KEYS[9] priority  zset   id -> score: ready jobs of a non-zero priority (includes/priority)
  KEYS[10] priority-seq string
  KEYS[11] delayed-high set  ids of delayed jobs of a positive priority

  ARGV[1] id
  ARGV[2] claim token
  ARGV[3] now (Unix ms)
  ARGV[4] release time (Unix ms) for a delayed release, '' = ready at once
  ARGV[5] maxTries

  A release to ready publishes on the queue's wake channel when no job was ready. A job of a group
  frees its slot, and goes back to the back of its group's list (includes/groups). An abandoned
  job others wait for fails them (includes/flow: their policy applies).

  Returns 0 = the claim was not held (nothing changed), 1 = released, 2 = abandoned, 3 = released
          to ready with a positive priority (the caller's prefetch buffer must not overtake it),
          4 = abandoned, and jobs waiting on it became ready (policy ignore)
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/flow"
--- @include "includes/wake"

local id = ARGV[1]
if redis.call('HGET', KEYS[1], id) ~= ARGV[2] then return 0 end
local claimed_at = redis.call('ZSCORE', KEYS[2], id) or ARGV[3]
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
local blob = redis.call('HGET', KEYS[4], id)
local base = group_base(KEYS[5])
local g = header_group(blob)
if g then group_settle(base, blob) end
local attempts = tonumber(redis.call('HGET', KEYS[3], id) or '0')
if attempts >= tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[7], claimed_at, id)
  if flow_links(base) and flow_settle(base, id, false, ARGV[3]) > 0 then return 4 end
  return 2
end
if ARGV[4] ~= '' then
  local rewritten = header_rewrite(blob, ARGV[4], nil)
  if rewritten then redis.call('HSET', KEYS[4], id, rewritten) end
  redis.call('ZADD', KEYS[6], ARGV[4], id)
  if header_priority(blob) > 0 then redis.call('SADD', KEYS[11], id) end
elseif g then
  group_push(base, g, id, false)
else
  local priority = header_priority(blob)
  if priority == 0 then
    wake_if_was_empty(KEYS[5], redis.call('LPUSH', KEYS[5], id), 1)
  else
    if ready_empty(KEYS[5], KEYS[9]) then wake(KEYS[5]) end
    priority_add(KEYS[9], KEYS[10], id, priority, false)
    if priority > 0 then
      dedup_hold(KEYS[8], header_sha1(blob))
      return 3
    end
  end
end
dedup_hold(KEYS[8], header_sha1(blob))
return 1
