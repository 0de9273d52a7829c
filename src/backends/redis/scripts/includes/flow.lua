--[[
  Job dependencies (needs includes/header, includes/priority, includes/groups). A flow job that
  waits for others is in the zset `<base>waiting` (id -> when it was pushed) with its count of
  unsettled dependencies in the hash `<base>f-pending`, and `i` in `<base>f-policy` when its
  policy is `ignore` (absent: `abandon`). A job others wait for lists them, comma-separated, in
  `<base>f-dependents` until it settles; the hash exists only while some link is unsettled, so an
  ack in a queue without flows pays one EXISTS. <base> as in includes/groups.
]]

--- Puts the flow job `id`, whose dependencies all settled, where a pushed job would go: delayed
-- when its header has a release time (a due one is promoted by the next pop), else ready.
-- Returns 1 when it became ready, 0 when delayed.
local function flow_enqueue(base, id, blob)
  local _, release = header_parse(blob)
  if release ~= nil and release ~= '' then
    redis.call('ZADD', base .. 'delayed', release, id)
    if header_priority(blob) > 0 then redis.call('SADD', base .. 'delayed-high', id) end
    return 0
  end
  ready_put(base .. 'ready', base .. 'priority', base .. 'priority-seq', id, blob, false)
  return 1
end

--- Settles the links of job `id`, which left for good: acked (`ok`), or abandoned or cancelled.
-- A dependent with nothing left pending is enqueued; on a failure a dependent with policy
-- `abandon` is abandoned at `now` and the failure passes on to its dependents. Returns how many
-- jobs became ready (and publishes a wake when some did).
local function flow_settle(base, id, ok, now)
  local k_deps = base .. 'f-dependents'
  local list = redis.call('HGET', k_deps, id)
  if not list then return 0 end
  redis.call('HDEL', k_deps, id)
  local k_pending, k_policy, k_waiting = base .. 'f-pending', base .. 'f-policy', base .. 'waiting'
  local ready = 0
  local stack = { { list, ok } }
  while #stack > 0 do
    local top = table.remove(stack)
    for d in string.gmatch(top[1], '[^,]+') do
      if redis.call('HEXISTS', k_pending, d) == 1 then -- still waiting (not cancelled meanwhile)
        if not top[2] and redis.call('HGET', k_policy, d) ~= 'i' then
          redis.call('HDEL', k_pending, d)
          redis.call('HDEL', k_policy, d)
          redis.call('ZREM', k_waiting, d)
          redis.call('ZADD', base .. 'abandoned', now, d)
          local sub = redis.call('HGET', k_deps, d)
          if sub then
            redis.call('HDEL', k_deps, d)
            stack[#stack + 1] = { sub, false }
          end
        elseif redis.call('HINCRBY', k_pending, d, -1) <= 0 then
          redis.call('HDEL', k_pending, d)
          redis.call('HDEL', k_policy, d)
          redis.call('ZREM', k_waiting, d)
          ready = ready + flow_enqueue(base, d, redis.call('HGET', base .. 'data', d))
        end
      end
    end
  end
  if ready > 0 then redis.call('PUBLISH', base .. 'wake', '1') end
  return ready
end

--- True when some flow link of the queue is unsettled (the only case a settle can do anything).
local function flow_links(base)
  return redis.call('EXISTS', base .. 'f-dependents') == 1
end
