#!lua
--[[
  Pushes a flow (JobQueue.pushFlow) in one atomic step: every job is stored and linked, or none
  (the `#!lua` shebang makes Redis refuse the script up front when it is out of memory). A job
  with dependencies waits in `<base>waiting` with its pending count; the others go where push-7
  would put them (includes/flow). Flow jobs have no dedup key.

  KEYS[1] data      hash   id -> stored job
  KEYS[2] ready     list
  KEYS[3] delayed   zset   id -> release time
  KEYS[4] priority  zset   ready jobs of a non-zero priority (includes/priority)
  KEYS[5] priority-seq string
  KEYS[6] delayed-high set  ids of delayed jobs of a positive priority

  ARGV[1]           now (Unix ms, the queue's clock)
  ARGV[2 + 6i ..]   per job i: id, release time ('' = not delayed), stored job, number of
                    dependencies, ids of its dependents comma-separated ('' = none), policy
                    ('i' = ignore a failed dependency, '' = abandon)

  Publishes on the queue's wake channel when it made jobs ready.

  Returns the number of jobs ready at once
]]
--- @include "includes/header"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/flow"
--- @include "includes/wake"

local now = tonumber(ARGV[1])
local base = group_base(KEYS[2])
local ready = 0
for i = 2, #ARGV, 6 do
  local id, release, blob = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local pending, dependents, policy = tonumber(ARGV[i + 3]), ARGV[i + 4], ARGV[i + 5]
  redis.call('HSET', KEYS[1], id, blob)
  if dependents ~= '' then redis.call('HSET', base .. 'f-dependents', id, dependents) end
  if pending > 0 then
    redis.call('ZADD', base .. 'waiting', now, id)
    redis.call('HSET', base .. 'f-pending', id, pending)
    if policy == 'i' then redis.call('HSET', base .. 'f-policy', id, 'i') end
  elseif release ~= '' and tonumber(release) > now then
    redis.call('ZADD', KEYS[3], release, id)
    if header_priority(blob) > 0 then redis.call('SADD', KEYS[6], id) end
  else
    ready_put(KEYS[2], KEYS[4], KEYS[5], id, blob, false)
    ready = ready + 1
  end
end
if ready > 0 then wake(KEYS[2]) end
return ready
