--[[
  Moves due delayed jobs to the back of the ready list, or of their priority in the priority set
  (includes/priority; needs includes/header and includes/groups), or of its group's list for a job
  with a group key, in release order (P-5); a promoted job of a positive priority leaves the
  delayed-high set.
]]

--- Promotes up to `limit` delayed jobs whose release time is <= `now`.
-- @return how many moved
local function promote_due(delayed, ready, data, prio, seq, high, now, limit)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
  local n = #due
  if n == 0 then return 0 end
  local blobs = redis.call('HMGET', data, unpack(due))
  local plain, positive = {}, {}
  for i, id in ipairs(due) do
    local priority = header_priority(blobs[i])
    local g = header_group(blobs[i])
    if g then
      group_push(group_base(ready), g, id, false)
      if priority > 0 then positive[#positive + 1] = id end
    elseif priority == 0 then
      plain[#plain + 1] = id
    else
      priority_add(prio, seq, id, priority, false)
      if priority > 0 then positive[#positive + 1] = id end
    end
  end
  if #positive > 0 then redis.call('SREM', high, unpack(positive)) end
  if #plain > 0 then redis.call('LPUSH', ready, unpack(plain)) end
  redis.call('ZREM', delayed, unpack(due))
  return n
end
