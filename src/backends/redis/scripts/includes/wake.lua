--[[
  Low-latency wake (see wake.ts): a queue's channel is its ready key with `ready` replaced by
  `wake`, so no script needs an extra KEY or ARGV. Published only when the ready list goes from
  empty to non-empty: a busy queue never pays for it.
]]

--- Publishes on the wake channel of `ready` when an LPUSH / RPUSH of `pushed` ids that left the
-- list `length` long found it empty (length == pushed).
local function wake_if_was_empty(ready, length, pushed)
  if length == pushed then
    redis.call('PUBLISH', string.sub(ready, 1, -6) .. 'wake', '1')
  end
end
