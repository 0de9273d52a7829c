#!lua
--[[
  Gives back claimed jobs that were never handed to a caller (a handle's prefetch buffer, on
  close or when they grew stale): each job whose token still holds its claim is un-claimed, its
  attempt count restored (the claim is undone, not counted), its dedup key held again, and it
  goes back to the FRONT of the ready list (or of its priority in the priority set), in the given
  order (a job of a group to the front of its group's list, its slot freed: prefetch takes no
  grouped job, but the case is handled). A stale token changes nothing (the
  claim was already recycled or settled elsewhere).

  KEYS[1] tokens    hash   id -> live claim token
  KEYS[2] claimed   zset   id -> claimedAt
  KEYS[3] attempts  hash   id -> claims so far
  KEYS[4] data      hash   id -> stored job
  KEYS[5] ready     list   popped from the tail: the front is the tail
  KEYS[6] dedup     hash   sha1 -> holders
  KEYS[7] priority  zset   id -> score: ready jobs of a non-zero priority (includes/priority)
  KEYS[8] priority-seq string

  ARGV[2i - 1], ARGV[2i]   id and claim token of job i, in pop order (at most 1000 jobs)

  Returns the number of jobs given back
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/wake"

local back = {}
local was_empty = nil
local given = 0
for i = #ARGV - 1, 1, -2 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], id) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    if redis.call('HINCRBY', KEYS[3], id, -1) <= 0 then redis.call('HDEL', KEYS[3], id) end
    local blob = redis.call('HGET', KEYS[4], id)
    dedup_hold(KEYS[6], header_sha1(blob))
    local priority = header_priority(blob)
    local g = header_group(blob)
    if g then
      group_settle(group_base(KEYS[5]), blob)
      group_push(group_base(KEYS[5]), g, id, true)
    elseif priority == 0 then
      back[#back + 1] = id
    else
      if was_empty == nil then was_empty = ready_empty(KEYS[5], KEYS[7]) end
      -- Walking backwards, the first job goes to the front last: it pops next.
      priority_add(KEYS[7], KEYS[8], id, priority, true)
    end
    given = given + 1
  end
end
-- Walking backwards, `back` ends with the first job: RPUSH puts it at the tail, popped next.
if #back > 0 then
  local length = redis.call('RPUSH', KEYS[5], unpack(back))
  if was_empty == nil then wake_if_was_empty(KEYS[5], length, #back) end
end
if was_empty then wake(KEYS[5]) end
return given
