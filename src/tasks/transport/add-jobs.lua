-- klue's batch add of standard jobs: one command for many jobs, leaving Redis exactly as
-- BullMQ's addStandardJob-9.lua leaves it after adding them one by one (see add-jobs.ts).
-- Mirrors: bullmq 5.81.5, dist/cjs/scripts/addStandardJob-9.js
-- sha256: 24abab43c2fb458104993c0e829b381204f2296d57aa1357b2a9aed812f936fd
-- test/async/add-jobs.test.ts fails when the installed BullMQ's script no longer has that hash:
-- compare the two, bring this file in line, then update the two lines above.
local rcall = redis.call
local waitKey, pausedKey, metaKey, idKey, activeKey, eventsKey, markerKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local prefix = ARGV[1]
local timestamp = ARGV[2]
local first = 3 + tonumber(ARGV[3])
local count = (#ARGV - first) / 4

-- getOrSetMaxEvents
local maxEvents = rcall("HGET", metaKey, "opts.maxLenEvents")
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", metaKey, "opts.maxLenEvents", maxEvents)
end

-- getTargetQueueList: nothing a job of this batch does changes its answer
local target, isPausedOrMaxed = waitKey, false
local attributes = rcall("HMGET", metaKey, "paused", "concurrency")
if attributes[1] then
  target, isPausedOrMaxed = pausedKey, true
elseif attributes[2] then
  isPausedOrMaxed = rcall("LLEN", activeKey) >= tonumber(attributes[2])
end

-- BullMQ INCRs the counter once per job, custom id or not
local last = rcall("INCRBY", idKey, count)
local out = {}
local pushed = {}
for i = 1, count do
  local at = first + (i - 1) * 4
  local customId, name, data, opts = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[3 + tonumber(ARGV[at + 4])]
  local jobId
  if customId == "" then
    jobId = (last - count + i) .. ""
  else
    jobId = customId
  end
  local jobIdKey = prefix .. jobId
  if customId ~= "" and rcall("EXISTS", jobIdKey) == 1 then
    -- handleDuplicatedJob, for a job without parent
    rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", jobId)
    out[#out + 1] = jobId
    out[#out + 1] = (rcall("HGET", jobIdKey, "data") == data) and 0 or 1
  else
    -- storeJob
    rcall("HMSET", jobIdKey, "name", name, "data", data, "opts", opts, "timestamp", timestamp, "delay", 0, "priority", 0)
    rcall("XADD", eventsKey, "*", "event", "added", "jobId", jobId, "name", name)
    -- addJobInTargetList (LPUSH, as without lifo), then the waiting event
    pushed[#pushed + 1] = jobId
    rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId)
    out[#out + 1] = jobId
    out[#out + 1] = 0
  end
end
if #pushed > 0 then
  rcall("LPUSH", target, unpack(pushed))
  -- addBaseMarkerIfNeeded
  if not isPausedOrMaxed then
    rcall("ZADD", markerKey, 0, "0")
  end
end
return out
