--[[
  Claims ready jobs from the tail of the ready list (FIFO), shared by pop and ack-pop. Every step
  works on the whole batch with one multi-key command (HMGET / HSET / ZADD): a batch of 16 costs
  about as much Redis time as 3 single pops. Ids whose stored job is missing are dropped and
  counted in out[1].
]]

--- Claims up to `want` ready jobs and appends `id, stored, attempts, token` per job to `out`.
-- `k` holds the keys in pop-8's order: ready, delayed, data, claimed, attempts, tokens, dedup (, paused).
-- `track`: true = record the claim (claimTTL > 0); false = the claim removes the job.
-- Tokens are nonce .. '.' .. n, n counting from `n` + 1 (the tokens used so far in this call).
-- `plain`: stop at the first job with a dedup key and leave it, and the jobs behind it, ready
-- (prefetch: a buffered job must not stop holding its key before a caller has it).
-- @return the tokens used so far, and true when the claim stopped at such a job
local function claim_ready(k, now, want, track, nonce, out, n, plain)
  local seen = {}
  local stopped = false
  while want > 0 and not stopped do
    local popped = redis.call('RPOP', k[1], want)
    if not popped then break end
    local blobs = redis.call('HMGET', k[3], unpack(popped))
    local ids, stored, gone = {}, {}, {}
    for i, id in ipairs(popped) do
      if plain and blobs[i] and header_sha1(blobs[i]) then
        -- Put this job and the rest back at the front, in order (the front is the tail).
        local back = {}
        for j = #popped, i, -1 do back[#back + 1] = popped[j] end
        redis.call('RPUSH', k[1], unpack(back))
        popped = { unpack(popped, 1, i - 1) }
        stopped = true
        break
      end
      if blobs[i] and not seen[id] then
        seen[id] = true
        ids[#ids + 1] = id
        stored[#stored + 1] = blobs[i]
      elseif not seen[id] then
        gone[#gone + 1] = id
      end
    end
    if #gone > 0 then
      out[1] = out[1] + #gone
      redis.call('HDEL', k[5], unpack(gone))
      redis.call('HDEL', k[6], unpack(gone))
    end
    if #ids > 0 then
      local tries = redis.call('HMGET', k[5], unpack(ids))
      local attempts, tokens, claims = {}, {}, {}
      for i, id in ipairs(ids) do
        local blob = stored[i]
        dedup_drop(k[7], header_sha1(blob))
        local a = (tonumber(tries[i]) or 0) + 1
        n = n + 1
        local token = nonce .. '.' .. n
        attempts[#attempts + 1] = id
        attempts[#attempts + 1] = a
        tokens[#tokens + 1] = id
        tokens[#tokens + 1] = token
        claims[#claims + 1] = now
        claims[#claims + 1] = id
        out[#out + 1] = id
        out[#out + 1] = blob
        out[#out + 1] = a
        out[#out + 1] = token
      end
      if track then
        redis.call('HSET', k[5], unpack(attempts))
        redis.call('HSET', k[6], unpack(tokens))
        redis.call('ZADD', k[4], unpack(claims))
      else
        redis.call('HDEL', k[3], unpack(ids))
        redis.call('HDEL', k[5], unpack(ids))
      end
    end
    want = want - #ids
    if #popped > #ids + #gone then break end -- repeated ids: a corrupted list; stop here
  end
  return n, stopped
end
