#!lua
--[[
  Cancels one job, whatever its state, in one atomic step (JobQueue.cancel). A ready or delayed
  job stops holding its dedup key; a claimed job loses its claim token, so every later ack,
  release or extend of that claim is stale (they are fenced by the token); its data and attempts
  go in every case; a claimed job of a group frees its slot, a ready one leaves its group's list
  (LREM, O(its length)). Claimed and abandoned jobs hold no dedup key (see includes/dedup). A
  waiting flow job leaves the waiting set; the jobs waiting on the cancelled one fail
  (includes/flow: their policy applies).

  KEYS[1] ready     list   (LREM: O(length of the list), the price of cancelling a ready
                           priority-0 job by id)
  KEYS[2] delayed   zset
  KEYS[3] claimed   zset
  KEYS[4] abandoned zset
  KEYS[5] data      hash
  KEYS[6] attempts  hash
  KEYS[7] tokens    hash
  KEYS[8] dedup     hash
  KEYS[9] priority  zset   ready jobs of a non-zero priority (ZREM: O(log n))
  KEYS[10] delayed-high set ids of delayed jobs of a positive priority

  ARGV[1] id
  ARGV[2] now (Unix ms): when jobs abandoned because this one was cancelled were abandoned

  Returns { state, flow_ready }   state: 0 = no such job, 1 = was ready, 2 = claimed, 3 = delayed,
          4 = abandoned, 5 = waiting; flow_ready: jobs that became ready (policy ignore)
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/flow"

local id = ARGV[1]
local blob = redis.call('HGET', KEYS[5], id)
if not blob then return { 0, 0 } end
local base = group_base(KEYS[1])
local state
local g = header_group(blob)
if redis.call('HDEL', KEYS[7], id) == 1 then
  redis.call('ZREM', KEYS[3], id)
  if g then group_settle(group_base(KEYS[1]), blob) end
  state = 2
elseif redis.call('ZREM', KEYS[2], id) == 1 then
  redis.call('SREM', KEYS[10], id)
  dedup_drop(KEYS[8], header_sha1(blob))
  state = 3
elseif redis.call('ZREM', KEYS[4], id) == 1 then
  state = 4
elseif redis.call('ZREM', base .. 'waiting', id) == 1 then
  redis.call('HDEL', base .. 'f-pending', id)
  redis.call('HDEL', base .. 'f-policy', id)
  state = 5
else
  -- Ready (or a stored job in no state at all: dropped the same way). Its header says where.
  local where
  if g then
    where = group_remove(group_base(KEYS[1]), g, id)
  elseif header_priority(blob) == 0 then
    where = redis.call('LREM', KEYS[1], 0, id)
  else
    where = redis.call('ZREM', KEYS[9], id)
  end
  if where > 0 then dedup_drop(KEYS[8], header_sha1(blob)) end
  state = 1
end
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
local flow_ready = 0
if flow_links(base) then flow_ready = flow_settle(base, id, false, ARGV[2]) end
return { state, flow_ready }
