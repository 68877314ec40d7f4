-- open_after_sale.lua: a buyer's after-sale request on a delivered order. The order holds
-- one open request at a time, and its after-sale period pauses until ops decide (so the
-- commission cannot settle under a pending refund).
--
-- KEYS[1] orders  KEYS[2] deadlines  KEYS[3] stream  KEYS[4] after_sales (request id -> JSON)
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] the buyer  ARGV[4] request id
-- ARGV[5] the request as JSON (reason, units, text, photos)
-- Reply: {"opened" | "not_found" | "not_allowed", order JSON or ""}

local now, oid, user, rid = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local raw = redis.call("HGET", KEYS[1], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.user ~= user then return {"not_found", ""} end
if order.ended or order.status ~= "delivered" or (order.aftersale_open or "") ~= "" then
  return {"not_allowed", raw}
end
local due = redis.call("ZSCORE", KEYS[2], "aftersale:" .. oid)
redis.call("ZREM", KEYS[2], "aftersale:" .. oid)
order.aftersale_open = rid
order.aftersale_due = tonumber(due or now)
local request = cjson.decode(ARGV[5])
request.id, request.order_id, request.user = rid, oid, user
request.status, request.opened_at_ms = "open", now
local encoded, kept = cjson.encode(order), cjson.encode(request)
redis.call("HSET", KEYS[1], oid, encoded)
redis.call("HSET", KEYS[4], rid, kept)
redis.call("XADD", KEYS[3], "*", "type", "after_sale_opened", "order_id", oid, "order", encoded,
  "request", kept)
return {"opened", encoded}
