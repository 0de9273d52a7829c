--[[
  The stored-job header. Every value of the data hash is
    1|<sha1>|<releaseTimestamp>|<enqueuedAt>|<encoding>|<payload>
  where sha1 is empty unless the job was pushed with removeDuplicates, releaseTimestamp is empty
  unless the job is (or was) delayed, and encoding is `j` (JSON) or `z` (base64 of gzip'd JSON).
  Scripts read only the first four fields; the payload belongs to the TypeScript codec.
  A value that does not parse is treated as a job without a dedup key and is never rewritten:
  a corrupted job must not make a script fail (that would be a crash loop for every popper).
]]

--- Parses the header of a stored job.
-- @return sha1, releaseTimestamp, enqueuedAt, index of the `|` before the encoding; nil when malformed
local function header_parse(blob)
  if type(blob) ~= 'string' or string.sub(blob, 1, 2) ~= '1|' then return nil end
  local p1 = string.find(blob, '|', 3, true)
  if not p1 then return nil end
  local p2 = string.find(blob, '|', p1 + 1, true)
  if not p2 then return nil end
  local p3 = string.find(blob, '|', p2 + 1, true)
  if not p3 then return nil end
  return string.sub(blob, 3, p1 - 1), string.sub(blob, p1 + 1, p2 - 1), string.sub(blob, p2 + 1, p3 - 1), p3
end

--- The dedup key of a stored job, or nil (no key, or a malformed header).
local function header_sha1(blob)
  -- Fast path: most jobs have no dedup key (an empty first field).
  if type(blob) == 'string' and string.sub(blob, 1, 3) == '1||' then return nil end
  local sha1 = header_parse(blob)
  if sha1 == nil or sha1 == '' then return nil end
  return sha1
end

--- The stored job with new release and enqueue times, or nil when the header is malformed.
local function header_rewrite(blob, release, enqueued)
  local sha1, _, old_enqueued, p3 = header_parse(blob)
  if sha1 == nil then return nil end
  return '1|' .. sha1 .. '|' .. release .. '|' .. (enqueued or old_enqueued) .. string.sub(blob, p3)
end
