--[[
  Jobs of a non-zero priority (priority-0 jobs stay in the ready list, untouched by this file).
  They wait in the queue's priority set, a zset scored so that ascending score is pop order:

    score = -priority * 2^33 + position,   0 < position < 2^33

  Each priority owns the band [-priority * 2^33, -priority * 2^33 + 2^33): bands never overlap and
  a higher priority has a lower band. Positive priorities score below 0 and negative ones at or
  above 2^33, so a pop takes the set's members below 0, then the ready list (priority 0), then
  the rest of the set. Within a band the position is 2^32 + seq for the back (a push, a release,
  a promotion) and 2^32 - seq for the front (a recycled claim, a prefetched job given back), seq
  from an INCR of the queue's sequence key: push order at the back, the newest first at the front,
  as the list does. Every score is an integer of magnitude at most (10^6 + 1) * 2^33 < 2^53, so
  doubles hold it exactly. When seq reaches 2^32 the set is renumbered (positions 2^32 + rank,
  the order kept) and seq restarts after the set's size: once per 2^32 insertions.
]]

local PRIORITY_BAND = 8589934592 -- 2^33
local PRIORITY_MID = 4294967296 -- 2^32

--- The next sequence number of the priority set `k_prio` (renumbers the set when it runs out).
local function priority_seq(k_prio, k_seq)
  local seq = redis.call('INCR', k_seq)
  if seq < PRIORITY_MID then return seq end
  -- Read whole first: renumbered members would move among those not yet renumbered.
  local all = redis.call('ZRANGE', k_prio, 0, -1, 'WITHSCORES')
  local n = #all / 2
  for first = 1, #all, 2000 do
    local args = {}
    for i = first, math.min(first + 1999, #all), 2 do
      local band = math.floor(tonumber(all[i + 1]) / PRIORITY_BAND)
      args[#args + 1] = string.format('%.0f', band * PRIORITY_BAND + PRIORITY_MID + (i + 1) / 2)
      args[#args + 1] = all[i]
    end
    redis.call('ZADD', k_prio, unpack(args))
  end
  seq = n + 1
  redis.call('SET', k_seq, seq)
  return seq
end

--- Adds `id` of priority `priority` (non-zero) to the back of its priority, or the front when
-- `front` is true.
local function priority_add(k_prio, k_seq, id, priority, front)
  local seq = priority_seq(k_prio, k_seq)
  local position = front and PRIORITY_MID - seq or PRIORITY_MID + seq
  redis.call('ZADD', k_prio, string.format('%.0f', -priority * PRIORITY_BAND + position), id)
end

--- True when no job is ready in the list nor in the priority set (empty keys do not exist).
local function ready_empty(k_ready, k_prio)
  return redis.call('EXISTS', k_ready, k_prio) == 0
end
