-- fulfil.lua: move a paid order one fulfilment step (allocated, shipped, delivered,
-- completed). Delivery starts the after-sale period; its end completes the order.
--
-- KEYS[1] orders  KEYS[2] deadlines  KEYS[3] stream  KEYS[4] warehouses
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] new status  ARGV[4] the status it must be in
-- ARGV[5] after-sale period end (ms) when delivering, else ""  ARGV[6] warehouse or ""
-- ARGV[7] the deadline that fired (removed in any case), or ""
-- ARGV[8] carrier code and ARGV[9] tracking number when shipping with them, else ""
-- Reply: {"moved" | "not_allowed" | "not_found", order JSON or ""}

local now, oid, status, required = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
if ARGV[7] ~= "" then redis.call("ZREM", KEYS[2], ARGV[7]) end
local raw = redis.call("HGET", KEYS[1], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.ended or order.status ~= required then return {"not_allowed", raw} end

order.status = status
table.insert(order.history, {status, now})
if ARGV[6] ~= "" then order.warehouse = ARGV[6] end
-- Shipping takes a routed order's units out of its warehouses for good.
if ARGV[8] ~= "" then order.shipment = {carrier = ARGV[8], tracking_no = ARGV[9], at = now} end
if status == "shipped" then
  for _, part in ipairs(order.route or {}) do
    redis.call("HINCRBY", KEYS[4], part[1] .. ".shipped", part[2])
  end
end
if ARGV[5] ~= "" then redis.call("ZADD", KEYS[2], tonumber(ARGV[5]), "aftersale:" .. oid) end
local encoded = cjson.encode(order)
redis.call("HSET", KEYS[1], oid, encoded)
redis.call("XADD", KEYS[3], "*", "type", "fulfilment", "order_id", oid, "order", encoded)
return {"moved", encoded}
