--[[
  The dedup hash maps sha1 -> the number of ready or delayed jobs holding that key (P-13). A
  released job and its twin may both hold one key, so it is a count, not an id: the key is free
  only when no ready or delayed job holds it. Claimed and abandoned jobs never hold a key.
]]

--- Adds one holder of `sha1` (no-op for nil).
local function dedup_hold(key, sha1)
  if sha1 then redis.call('HINCRBY', key, sha1, 1) end
end

--- Removes one holder of `sha1` (no-op for nil); the field goes when nobody holds it.
local function dedup_drop(key, sha1)
  if sha1 and redis.call('HINCRBY', key, sha1, -1) <= 0 then redis.call('HDEL', key, sha1) end
end
