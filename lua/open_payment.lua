-- open_payment.lua: open the next payment stage of an order (deposit, balance or full).
-- Asking again while that stage's payment is pending returns the same payment.
--
-- KEYS[1] orders  KEYS[2] payments (hash: payment id -> payment JSON)  KEYS[3] stream
-- ARGV[1] now (ms)  ARGV[2] order id  ARGV[3] user  ARGV[4] new payment id
-- ARGV[5] stage  ARGV[6] amount (fen)  ARGV[7] the status the order must be in
-- ARGV[8] the provider the viewer pays with (sandbox | wechat)
-- Reply: {"opened" | "existing", payment JSON} | {"not_found" | "wrong_status" | "expired", ""}

local now, oid, user, pid = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local stage, amount, required, provider = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]

local raw = redis.call("HGET", KEYS[1], oid)
if not raw then return {"not_found", ""} end
local order = cjson.decode(raw)
if order.user ~= user then return {"not_found", ""} end
if order.ended or order.status ~= required then return {"wrong_status", ""} end
if stage ~= "balance" and now >= order.pay_before_ms then return {"expired", ""} end

if order.pending_payment ~= "" then
  local current = redis.call("HGET", KEYS[2], order.pending_payment)
  if current then
    local payment = cjson.decode(current)
    if payment.status == "pending" and payment.stage == stage then
      return {"existing", current}
    end
  end
end

local payment = {id = pid, order_id = oid, campaign_id = order.campaign_id, user = user,
                 stage = stage, amount_fen = amount, status = "pending", opened_at_ms = now,
                 provider = provider}
local encoded = cjson.encode(payment)
redis.call("HSET", KEYS[2], pid, encoded)
order.pending_payment = pid
redis.call("HSET", KEYS[1], oid, cjson.encode(order))
redis.call("XADD", KEYS[3], "*", "type", "payment_opened", "order_id", oid, "payment", encoded)
return {"opened", encoded}
