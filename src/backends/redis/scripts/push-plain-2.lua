#!lua
--[[
  Pushes a batch of plain jobs (P-1, P-16): priority 0, no dedup key and no release time, the
  common case, which needs neither push-7's dedup check nor its delayed and priority sets. One
  script call is one atomic step (the `#!lua` shebang makes Redis refuse it up front when out of
  memory). Jobs go to the
  back of the ready list in batch order, exactly as push-7 stores them.

  KEYS[1] data      hash   id -> stored job
  KEYS[2] ready     list   ids; pushed at the head (LPUSH), popped from the tail (RPOP)

  ARGV[2i - 1], ARGV[2i]   id and stored job of job i (any number: an atomic batch is one call)

  Publishes on the queue's wake channel when the ready list was empty (includes/wake).

  Returns { inserted, 0 }   (the shape of push-7's { inserted, duplicates })
]]
--- @include "includes/wake"
local n = #ARGV / 2
-- In steps of 1000 jobs: unpack() of a whole atomic batch could overflow Lua's stack.
for first = 1, #ARGV, 2000 do
  local last = math.min(first + 1999, #ARGV)
  local ids = {}
  for i = first, last, 2 do ids[#ids + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(ARGV, first, last))
  local length = redis.call('LPUSH', KEYS[2], unpack(ids))
  if first == 1 then wake_if_was_empty(KEYS[2], length, #ids) end
end
return { n, 0 }
