-- correct_shipment.lua: a shipped order's carrier or tracking number, corrected (a typo in
-- the warehouse's upload). Only while it is in transit: the events of the old number no
-- longer apply, so the latest event is cleared; the units stay shipped.
--
-- KEYS[1] orders  KEYS[2] stream
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] carrier  ARGV[4] tracking number
-- Reply: {"corrected" | "not_allowed" | "not_found", order JSON or ""}

local now, oid = tonumber(ARGV[1]), ARGV[2]
local raw = redis.call("HGET", KEYS[1], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.ended or order.status ~= "shipped" or not order.shipment then
  return {"not_allowed", raw}
end
local before = order.shipment
order.shipment = {carrier = ARGV[3], tracking_no = ARGV[4], at = now,
  corrected_from = before.carrier .. " " .. before.tracking_no}
order.logistics = nil
local encoded = cjson.encode(order)
redis.call("HSET", KEYS[1], oid, encoded)
redis.call("XADD", KEYS[2], "*", "type", "shipment_corrected", "order_id", oid, "order", encoded)
return {"corrected", encoded}
