--[[
  Flow-control groups (needs includes/header). A job with a groupKey never enters the ready list
  or the priority set: it waits in its group's list `<base>g:<group>` (LPUSH back, RPOP front;
  FIFO within the group: a grouped job's priority is kept in its header but not used for pop
  order). The queue's turns `<base>g-turns` list the groups with ready jobs in turn order, plus
  '' for the keyless jobs (the ready list and the priority set, one more group); it exists only
  while some group has ready jobs, so a queue without grouped jobs pops exactly as before (one
  EXISTS more). A group is in the turns iff its list is non-empty. `<base>g-held` counts the
  claims each group holds; `<base>g-rate` and the zset `<base>g-window` hold each group's rate
  window (claims so far, end time). <base> is the queue's key prefix (`…{domain:type}:`), derived
  from a KEY the script has (as includes/wake does), so every key is in the queue's slot.
]]

--- The queue's key prefix from its ready key (`<base>ready`).
local function group_base(ready)
  return string.sub(ready, 1, -6)
end

--- Drops the turns when only the keyless jobs' place is left in them.
local function group_tidy(base)
  local turns = base .. 'g-turns'
  if redis.call('LLEN', turns) == 1 and redis.call('LINDEX', turns, 0) == '' then redis.call('DEL', turns) end
end

--- Puts `id` of group `g` at the back of its group's list (the front when `front`); a group that
-- had no ready job takes the last turn (publishing on the wake channel).
local function group_push(base, g, id, front)
  local length
  if front then
    length = redis.call('RPUSH', base .. 'g:' .. g, id)
  else
    length = redis.call('LPUSH', base .. 'g:' .. g, id)
  end
  if length == 1 then
    local turns = base .. 'g-turns'
    if redis.call('EXISTS', turns) == 0 then
      redis.call('RPUSH', turns, '', g)
    else
      redis.call('RPUSH', turns, g)
    end
    redis.call('PUBLISH', base .. 'wake', '1')
  end
end

--- Removes ready `id` of group `g` from its list; returns 1 when it was there, else 0.
local function group_remove(base, g, id)
  local list = base .. 'g:' .. g
  local removed = redis.call('LREM', list, 0, id)
  if removed > 0 and redis.call('EXISTS', list) == 0 then
    redis.call('LREM', base .. 'g-turns', 0, g)
    group_tidy(base)
  end
  return removed
end

--- A claim of the stored job `blob` ended: its group's slot is free (no-op for a keyless job).
local function group_settle(base, blob)
  local g = header_group(blob)
  if g and redis.call('HINCRBY', base .. 'g-held', g, -1) <= 0 then redis.call('HDEL', base .. 'g-held', g) end
end

--- Ready jobs in the groups' lists (O(groups with ready jobs)).
local function group_ready_count(base)
  local turns = redis.call('LRANGE', base .. 'g-turns', 0, -1)
  local n = 0
  for _, g in ipairs(turns) do
    if g ~= '' then n = n + redis.call('LLEN', base .. 'g:' .. g) end
  end
  return n
end

--- Puts ready job `id` (stored as `blob`) where its header sends it (needs includes/priority): its
-- group's list, the ready list (priority 0) or the priority set; at the front (a recycled claim)
-- or the back.
local function ready_put(k_ready, k_prio, k_seq, id, blob, front)
  local g = header_group(blob)
  if g then
    group_push(group_base(k_ready), g, id, front)
    return
  end
  local priority = header_priority(blob)
  if priority ~= 0 then
    priority_add(k_prio, k_seq, id, priority, front)
  elseif front then
    redis.call('RPUSH', k_ready, id)
  else
    redis.call('LPUSH', k_ready, id)
  end
end
