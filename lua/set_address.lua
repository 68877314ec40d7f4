-- set_address.lua: choose (or change) where an order ships, while it has not been routed
-- to a warehouse yet. The address itself lives in the viewer's address book (SQL); the
-- order keeps its id and its region, which is all routing needs.
--
-- KEYS[1] orders  KEYS[2] stream
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] the viewer  ARGV[4] address id
-- ARGV[5] the address's most precise GB/T 2260 code
-- Reply: {"set" | "unchanged" | "not_allowed" | "not_found", order JSON or ""}

local now, oid, user, address, region = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local raw = redis.call("HGET", KEYS[1], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.user ~= user then return {"not_found", ""} end
local open = {awaiting_payment = true, awaiting_balance = true, paid = true}
if order.ended or not open[order.status] then return {"not_allowed", raw} end
if order.address_id == address then return {"unchanged", raw} end

order.address_id = address
order.region = region
local encoded = cjson.encode(order)
redis.call("HSET", KEYS[1], oid, encoded)
redis.call("XADD", KEYS[2], "*", "type", "address", "order_id", oid, "order", encoded)
return {"set", encoded}
