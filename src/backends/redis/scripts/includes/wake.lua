--[[
  Low-latency wake (see wake.ts): a queue's channel is its ready key with `ready` replaced by
  `wake`, so no script needs an extra KEY or ARGV. Published only when the ready list goes from
  empty to non-empty: a busy queue never pays for it.
]]

--- Publishes on the wake channel of the ready list `ready`.
local function wake(ready)
  redis.call('PUBLISH', string.sub(ready, 1, -6) .. 'wake', '1')
end

--- Publishes when an LPUSH / RPUSH of `pushed` ids, which left the list `length` long, found it
-- empty (length == pushed).
local function wake_if_was_empty(ready, length, pushed)
  if length == pushed then wake(ready) end
end
