#!lua
--[[
  Pushes a batch of jobs (P-1, P-13, P-16). One script call is one atomic step: the batch is
  stored whole (the `#!lua` shebang makes Redis refuse the script up front when it is out of
  memory, instead of failing half-way), and the dedup check cannot race another push.

  KEYS[1] data      hash   id -> stored job
  KEYS[2] ready     list   priority-0 ids; pushed at the head (LPUSH), popped from the tail (RPOP)
  KEYS[3] delayed   zset   id -> release time (ms)
  KEYS[4] dedup     hash   sha1 -> number of ready or delayed holders
  KEYS[5] priority  zset   id -> score: ready jobs of a non-zero priority (includes/priority)
  KEYS[6] priority-seq string INCR'd for their scores
  KEYS[7] delayed-high set  ids of delayed jobs of a positive priority (no handle prefetches while
                            it exists)

  ARGV[1]           now (Unix ms, the queue's clock)
  ARGV[2 + 4i ..]   per job i: id, sha1 ('' = no dedup), release time ('' = not delayed), stored job
                    (a stored job's header holds its priority and group: includes/header)

  A job with a group key waits in its group's list (includes/groups), whatever its priority.

  Publishes on the queue's wake channel when no job was ready (includes/wake).

  Returns { inserted, duplicates }
]]
--- @include "includes/header"
--- @include "includes/dedup"
--- @include "includes/priority"
--- @include "includes/groups"
--- @include "includes/wake"

local now = tonumber(ARGV[1])
local inserted, duplicates = 0, 0
local ready = {}
local first = true
local woke, checked = false, false
local function push_ready()
  local length = redis.call('LPUSH', KEYS[2], unpack(ready))
  if first then
    first = false
    if not woke then wake_if_was_empty(KEYS[2], length, #ready) end
  end
  ready = {}
end
for i = 2, #ARGV, 4 do
  local id, sha1, release, blob = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if sha1 ~= '' and redis.call('HEXISTS', KEYS[4], sha1) == 1 then
    duplicates = duplicates + 1
  else
    redis.call('HSET', KEYS[1], id, blob)
    if release ~= '' and tonumber(release) > now then
      redis.call('ZADD', KEYS[3], release, id)
      if string.byte(blob, 1) == 50 and header_priority(blob) > 0 then redis.call('SADD', KEYS[7], id) end
    elseif string.byte(blob, 1) == 51 and header_group(blob) then -- '3': a header with a group
      group_push(group_base(KEYS[2]), header_group(blob), id, false)
    elseif string.byte(blob, 1) == 50 then -- '2': a header with a non-zero priority
      if not checked then
        -- Nothing ready yet (no list push so far, none pending, both keys absent): wake.
        checked = true
        if first and #ready == 0 and ready_empty(KEYS[2], KEYS[5]) then
          woke = true
          wake(KEYS[2])
        end
      end
      priority_add(KEYS[5], KEYS[6], id, header_priority(blob), false)
    else
      ready[#ready + 1] = id
      if #ready == 1000 then push_ready() end
    end
    if sha1 ~= '' then dedup_hold(KEYS[4], sha1) end
    inserted = inserted + 1
  end
end
if #ready > 0 then push_ready() end
return { inserted, duplicates }
