-- close_group.lua: close a group at its expiry, exactly once. Enough paid members:
-- formed at the price of the lowest tier its paid headcount reached, and each member
-- order is queued ("groupprice:") to be refunded the difference to what it paid. Too few
-- (and no auto-completion within its cap): failed, and each member order is queued
-- ("grouprelease:") to be ended with a refund. Queued on the deadlines set, so a crash
-- cannot strand one.
--
-- KEYS[1] groups  KEYS[2] deadlines  KEYS[3] stream  KEYS[4] counters  KEYS[5] progress
-- ARGV[1] now (ms)  ARGV[2] group code  ARGV[3] paid members needed
-- ARGV[4] most missing members auto-completion may fill (0: off)
-- ARGV[5] tiers "min_members:price_fen,..." rising
-- Reply: {"formed" | "failed" | "already" | "not_found", group JSON or ""}

local now, code, needed, fill = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call("ZREM", KEYS[2], "group:" .. code)
local raw = redis.call("HGET", KEYS[1], code)
if not raw then return {"not_found", ""} end
local group = cjson.decode(raw)
if group.status ~= "open" then return {"already", raw} end

local function reached_price(headcount)
  local price = nil
  for min_members, tier_price in string.gmatch(ARGV[5], "(%d+):(%d+)") do
    if headcount >= tonumber(min_members) then price = tonumber(tier_price) end
  end
  return price
end

if group.paid >= needed or (group.paid > 0 and needed - group.paid <= fill) then
  group.status = "formed"
  group.auto_completed = group.paid < needed
  group.price_fen = reached_price(math.max(group.paid, needed))
  for _, oid in ipairs(group.order_ids) do
    redis.call("ZADD", KEYS[2], now, "groupprice:" .. oid)
  end
else
  group.status = "failed"
  for _, oid in ipairs(group.order_ids) do
    redis.call("ZADD", KEYS[2], now, "grouprelease:" .. oid)
  end
end
group.closed_at_ms = now
redis.call("ZREM", KEYS[5], code)
if group.status == "formed" then
  redis.call("HINCRBY", KEYS[4], "groups.formed_members", group.paid)
end
local encoded = cjson.encode(group)
redis.call("HSET", KEYS[1], code, encoded)
redis.call("XADD", KEYS[3], "*", "type", "group_closed", "group_code", code, "group", encoded)
redis.call("HINCRBY", KEYS[4], "groups." .. group.status, 1)
return {group.status, encoded}
