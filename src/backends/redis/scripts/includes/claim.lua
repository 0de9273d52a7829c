--[[
  Claims ready jobs in pop order, shared by pop and ack-pop: the priority set's positive
  priorities, then the tail of the ready list (priority 0, FIFO), then the set's negative
  priorities (includes/priority). Every step
  works on the whole batch with one multi-key command (HMGET / HSET / ZADD): a batch of 16 costs
  about as much Redis time as 3 single pops. Ids whose stored job is missing are dropped and
  counted in out[1].
]]

--- Takes up to `want` ids in pop order from one place: the priority set's members scored below 0
-- (positive priorities), else the tail of the ready list, else the set's other members. `empty`
-- is true when the set is known to be empty (nothing in one script call adds to it while claiming).
-- `list_only`: take from the list only, and nothing while the set holds a positive priority.
-- @return the ids (nil when nothing is ready), their scores when they came from the set (nil for
--   the list), and whether the set is empty
local function take_ready(k, want, empty, list_only)
  local head
  if not empty then
    head = redis.call('ZRANGE', k[9], 0, 0, 'WITHSCORES')
    empty = head[1] == nil
  end
  if not empty and tonumber(head[2]) < 0 then
    if list_only then return nil, nil, false end
    local got = head
    if want > 1 then
      got = redis.call('ZRANGE', k[9], '-inf', '(0', 'BYSCORE', 'LIMIT', 0, want, 'WITHSCORES')
    end
    local ids, scores = {}, {}
    for i = 1, #got, 2 do
      ids[#ids + 1] = got[i]
      scores[#scores + 1] = got[i + 1]
    end
    redis.call('ZREM', k[9], unpack(ids))
    return ids, scores, false
  end
  local popped = redis.call('RPOP', k[1], want)
  if popped then return popped, nil, empty end
  if empty or list_only then return nil, nil, empty end
  local got = redis.call('ZPOPMIN', k[9], want)
  local ids, scores = {}, {}
  for i = 1, #got, 2 do
    ids[#ids + 1] = got[i]
    scores[#scores + 1] = got[i + 1]
  end
  if #ids == 0 then return nil, nil, true end
  return ids, scores, false
end

--- Claims the taken `ids` whose stored jobs are `stored` and appends `id, stored, attempts, token`
-- per job to `out` (see claim_ready). @return the tokens used so far
local function claim_stored(k, now, track, nonce, out, n, ids, stored)
  if #ids == 0 then return n end
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
  return n
end

--- Claims up to `want` ready jobs and appends `id, stored, attempts, token` per job to `out`.
-- `k` holds the keys in pop-11's order: ready, delayed, data, claimed, attempts, tokens, dedup,
-- paused, priority set (the sequence and delayed-high keys are not used here).
-- `track`: true = record the claim (claimTTL > 0); false = the claim removes the job.
-- Tokens are nonce .. '.' .. n, n counting from `n` + 1 (the tokens used so far in this call).
-- `plain`: stop at the first job with a dedup key and leave it, and the jobs behind it, ready
-- (prefetch: a buffered job must not stop holding its key before a caller has it); and claim only
-- priority-0 jobs, none while a positive priority is ready (a buffered job is handed out before
-- whatever arrives later, so it must be one that nothing ready outranks, and a later priority-0 job
-- does not outrank it; the caller checks the delayed ones).
-- @return the tokens used so far, and true when the claim stopped at such a job
local function claim_ready(k, now, want, track, nonce, out, n, plain)
  local seen = {}
  local stopped = false
  local empty = false
  while want > 0 and not stopped do
    local popped, scores
    popped, scores, empty = take_ready(k, want, empty, plain)
    if not popped then break end
    local blobs = redis.call('HMGET', k[3], unpack(popped))
    local ids, stored, gone = {}, {}, {}
    for i, id in ipairs(popped) do
      if plain and blobs[i] and header_sha1(blobs[i]) then
        -- Put this job and the rest back where they were: at their scores, or at the front of the
        -- list, in order (the front is the tail).
        local back = {}
        if scores then
          for j = i, #popped do
            back[#back + 1] = scores[j]
            back[#back + 1] = popped[j]
          end
          redis.call('ZADD', k[9], unpack(back))
        else
          for j = #popped, i, -1 do back[#back + 1] = popped[j] end
          redis.call('RPUSH', k[1], unpack(back))
        end
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
    n = claim_stored(k, now, track, nonce, out, n, ids, stored)
    want = want - #ids
    if #popped > #ids + #gone then break end -- repeated ids: a corrupted list; stop here
  end
  return n, stopped
end

--- Whether group `g` may take a claim at `now` under `limits` (the decoded limits ARGV: d = the
-- defaults, k = per-group entries that replace them; each { maxConcurrent, rate max, rate ms },
-- 0 = none).
local function group_allows(base, g, now, limits)
  local l = (limits.k and limits.k[g]) or limits.d
  local m, rmax = l[1], l[2]
  if m > 0 and tonumber(redis.call('HGET', base .. 'g-held', g) or '0') >= m then return false end
  if rmax > 0 then
    local ends = tonumber(redis.call('ZSCORE', base .. 'g-window', g) or '0')
    if ends > now and tonumber(redis.call('HGET', base .. 'g-rate', g) or '0') >= rmax then return false end
  end
  return true
end

--- Counts a claim of group `g` at `now`: one held slot (when tracked) and one in its rate window.
local function group_claimed(base, g, now, limits, track)
  if track then redis.call('HINCRBY', base .. 'g-held', g, 1) end
  if not limits then return end
  local l = (limits.k and limits.k[g]) or limits.d
  local per = l[3]
  if per <= 0 then return end
  local ends = tonumber(redis.call('ZSCORE', base .. 'g-window', g) or '0')
  if ends <= now then
    redis.call('ZADD', base .. 'g-window', string.format('%.0f', now + per), g)
    redis.call('HSET', base .. 'g-rate', g, 1)
  else
    redis.call('HINCRBY', base .. 'g-rate', g, 1)
  end
end

--- Claims up to `want` jobs while the queue has grouped jobs ready (the turns exist): one job per
-- turn, the group whose turn it is first; a group at its limit (`limits_arg`: '' = none, else the
-- JSON of group_allows's limits) keeps its jobs and moves to the back of the turns, so it never
-- blocks the others; the keyless jobs ('' in the turns) pop as claim_ready would. Stops after a
-- whole turn of refusals. Once the turns are gone (no grouped job ready) the rest is
-- claim_ready's.
-- @return the tokens used so far
local function claim_grouped(k, now, want, track, nonce, out, n, limits_arg)
  local base = group_base(k[1])
  local turns = base .. 'g-turns'
  local limits = nil
  if limits_arg ~= '' then limits = cjson.decode(limits_arg) end
  local t = tonumber(now)
  local refused = 0
  while want > 0 do
    local len = redis.call('LLEN', turns)
    if len == 0 then
      if want > 0 then n = claim_ready(k, now, want, track, nonce, out, n, false) end
      return n
    end
    if refused >= len then return n end
    local g = redis.call('LPOP', turns)
    if g == '' then
      local before = #out
      n = claim_ready(k, now, 1, track, nonce, out, n, false)
      if len > 1 then redis.call('RPUSH', turns, '') end
      if #out > before then
        want = want - 1
        refused = 0
      else
        refused = refused + 1
      end
    elseif limits and not group_allows(base, g, t, limits) then
      redis.call('RPUSH', turns, g)
      refused = refused + 1
    else
      local list = base .. 'g:' .. g
      local id = redis.call('RPOP', list)
      local blob = id and redis.call('HGET', k[3], id)
      if blob then
        n = claim_stored(k, now, track, nonce, out, n, { id }, { blob })
        group_claimed(base, g, t, limits, track)
        want = want - 1
        refused = 0
      elseif id then
        out[1] = out[1] + 1
        redis.call('HDEL', k[5], id)
        redis.call('HDEL', k[6], id)
      end
      if redis.call('EXISTS', list) == 1 then
        redis.call('RPUSH', turns, g)
      else
        group_tidy(base)
      end
    end
  end
  return n
end

--- Claims up to `want` ready jobs: claim_grouped while grouped jobs are ready, else claim_ready.
local function claim_any(k, now, want, track, nonce, out, n, limits_arg)
  if redis.call('EXISTS', group_base(k[1]) .. 'g-turns') == 0 then
    return claim_ready(k, now, want, track, nonce, out, n, false)
  end
  return claim_grouped(k, now, want, track, nonce, out, n, limits_arg)
end
