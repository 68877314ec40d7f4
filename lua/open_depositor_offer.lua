-- open_depositor_offer.lua: open the exclusive group offer to every depositor, once:
-- repeating the action changes nothing. The campaign's banner says so on every live room;
-- each depositor's own notice follows from the worker's notifier (server/notify), which
-- sees the offer open.
--
-- KEYS[1] meta ("depositor_offer": when it opened, "notice": the latest notice JSON)
-- KEYS[2] stream  KEYS[3] counters
-- ARGV[1] now (ms)  ARGV[2] feed channel  ARGV[3] banner text  ARGV[4] depositors
-- Reply: {"opened" | "already", number of depositors}

local now, channel, message = tonumber(ARGV[1]), ARGV[2], ARGV[3]
if redis.call("HSETNX", KEYS[1], "depositor_offer", now) == 0 then
  return {"already", tonumber(redis.call("HGET", KEYS[3], "depositors.notified") or "0")}
end
local depositors = tonumber(ARGV[4])
redis.call("HSET", KEYS[3], "depositors.notified", depositors)
redis.call("XADD", KEYS[2], "*", "type", "depositor_offer_opened", "depositors", depositors)
-- the live rooms' banner: kept as the latest notice (for viewers who come later), and sent
local banner = cjson.encode({kind = "depositor_offer", text = message, at_ms = now})
redis.call("HSET", KEYS[1], "notice", banner)
redis.call("SPUBLISH", channel, banner)
return {"opened", depositors}
