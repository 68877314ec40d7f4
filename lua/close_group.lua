-- close_group.lua: close a group at its expiry, exactly once. Enough paid members:
-- formed. Too few (and no auto-completion): failed, and each member order is queued
-- on the deadlines set to be ended with a refund, so a crash cannot strand one.
--
-- KEYS[1] groups  KEYS[2] deadlines  KEYS[3] stream  KEYS[4] counters
-- ARGV[1] now (ms)  ARGV[2] group code  ARGV[3] paid members needed  ARGV[4] "1": auto-complete
-- Reply: {"formed" | "failed" | "already" | "not_found", group JSON or ""}

local now, code, needed, auto = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4] == "1"
redis.call("ZREM", KEYS[2], "group:" .. code)
local raw = redis.call("HGET", KEYS[1], code)
if not raw then return {"not_found", ""} end
local group = cjson.decode(raw)
if group.status ~= "open" then return {"already", raw} end

if group.paid >= needed or auto then
  group.status = "formed"
else
  group.status = "failed"
  for _, oid in ipairs(group.order_ids) do
    redis.call("ZADD", KEYS[2], now, "grouprelease:" .. oid)
  end
end
group.closed_at_ms = now
local encoded = cjson.encode(group)
redis.call("HSET", KEYS[1], code, encoded)
redis.call("XADD", KEYS[3], "*", "type", "group_closed", "group_code", code, "group", encoded)
redis.call("HINCRBY", KEYS[4], "groups." .. group.status, 1)
return {group.status, encoded}
