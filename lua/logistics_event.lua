-- logistics_event.lua: one event from the logistics provider about a shipped order,
-- exactly once (its event id is remembered). The order keeps the latest event by time;
-- "delivered" moves a shipped order to delivered and starts its after-sale period, with
-- no ops call.
--
-- KEYS[1] orders  KEYS[2] deadlines  KEYS[3] stream  KEYS[4] logistics_seen (set of event ids)
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] carrier  ARGV[4] tracking number
-- ARGV[5] event id  ARGV[6] event status  ARGV[7] when it happened (ms)  ARGV[8] its text
-- ARGV[9] when the after-sale period ends if this delivers the order (ms)
-- Reply: {"recorded" | "duplicate" | "not_found" | "wrong_shipment", order JSON or ""}

local now, oid = tonumber(ARGV[1]), ARGV[2]
local raw = redis.call("HGET", KEYS[1], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
local shipment = order.shipment
if not shipment or shipment.carrier ~= ARGV[3] or shipment.tracking_no ~= ARGV[4] then
  return {"wrong_shipment", raw}
end
if redis.call("SADD", KEYS[4], ARGV[5]) == 0 then return {"duplicate", raw} end

local status, at = ARGV[6], tonumber(ARGV[7])
local latest = order.logistics
if not latest or at >= latest.at then
  order.logistics = {status = status, at = at, text = ARGV[8]}
end
if status == "delivered" and order.status == "shipped" and not order.ended then
  order.status = "delivered"
  table.insert(order.history, {"delivered", now})
  redis.call("ZADD", KEYS[2], tonumber(ARGV[9]), "aftersale:" .. oid)
end
local encoded = cjson.encode(order)
redis.call("HSET", KEYS[1], oid, encoded)
redis.call("XADD", KEYS[3], "*", "type", "logistics", "order_id", oid, "order", encoded,
  "event_id", ARGV[5], "status", status, "at_ms", at, "text", ARGV[8])
return {"recorded", encoded}
