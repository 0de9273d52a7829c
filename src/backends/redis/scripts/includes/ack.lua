--[[
  Fenced acks, shared by ack and ack-pop (P-8, P-11): a job is deleted iff the given token still
  holds its claim. A stale token (the claim was recycled, released, abandoned or acked) changes
  nothing; a job listed twice acks once, as two acks in a row would. An acked job of a group
  frees its slot (includes/groups; needs includes/header): its stored job is read only while some
  group holds claims (the g-held hash exists). An acked job others wait for settles their links
  as a success (includes/flow; only while the queue has unsettled links).
]]

--- Acks the `count` (id, token) pairs of `argv` that start at index `first`; appends one 1 (acked),
-- 2 (acked, and jobs waiting on it became ready) or 0 (the claim was not held) per pair to `out`.
local function ack_claims(k_tokens, k_claimed, k_data, k_attempts, argv, first, count, out)
  if count == 0 then return end
  local ids = {}
  for i = 0, count - 1 do ids[#ids + 1] = argv[first + 2 * i] end
  local live = redis.call('HMGET', k_tokens, unpack(ids))
  local held, done = {}, {}
  for i, id in ipairs(ids) do
    if live[i] and live[i] == argv[first + 2 * i - 1] and not done[id] then
      held[#held + 1] = id
      out[#out + 1] = 1
      done[id] = #out
    else
      out[#out + 1] = 0
    end
  end
  if #held > 0 then
    local base = string.sub(k_data, 1, -5)
    if redis.call('EXISTS', base .. 'g-held') == 1 then
      for _, blob in ipairs(redis.call('HMGET', k_data, unpack(held))) do group_settle(base, blob) end
    end
    redis.call('HDEL', k_tokens, unpack(held))
    redis.call('ZREM', k_claimed, unpack(held))
    redis.call('HDEL', k_data, unpack(held))
    redis.call('HDEL', k_attempts, unpack(held))
    if flow_links(base) then
      for _, id in ipairs(held) do
        if flow_settle(base, id, true, 0) > 0 then out[done[id]] = 2 end
      end
    end
  end
end
