-- open_depositor_offer.lua: open the exclusive group offer to every depositor and notify
-- each one (a stored notification, and the campaign's latest notice on its live feed), once:
-- repeating the action changes nothing.
--
-- KEYS[1] meta ("depositor_offer": when it opened, "notice": the latest notice JSON)
-- KEYS[2] notifications (hash: user -> JSON list)  KEYS[3] stream
-- KEYS[4] counters
-- ARGV[1] now (ms)  ARGV[2] feed channel  ARGV[3] notification text, then the depositors
-- Reply: {"opened" | "already", number of depositors notified}

local now, channel, message = tonumber(ARGV[1]), ARGV[2], ARGV[3]
if redis.call("HSETNX", KEYS[1], "depositor_offer", now) == 0 then
  return {"already", tonumber(redis.call("HGET", KEYS[4], "depositors.notified") or "0")}
end
local notice = {kind = "depositor_offer", text = message, at_ms = now}
for i = 4, #ARGV do
  local user = ARGV[i]
  local raw = redis.call("HGET", KEYS[2], user)
  local list = raw and cjson.decode(raw) or {}
  table.insert(list, notice)
  redis.call("HSET", KEYS[2], user, cjson.encode(list))
end
local notified = #ARGV - 3
redis.call("HSET", KEYS[4], "depositors.notified", notified)
redis.call("XADD", KEYS[3], "*", "type", "depositor_offer_opened", "depositors", notified)
-- the live rooms' banner: kept as the latest notice (for viewers who come later), and sent
local banner = cjson.encode({kind = "depositor_offer", text = message, at_ms = now})
redis.call("HSET", KEYS[1], "notice", banner)
redis.call("PUBLISH", channel, banner)
return {"opened", notified}
