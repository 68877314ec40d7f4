-- sandbox_refund.lua: the sandbox payment provider takes a refund, as a real one does: once
-- by its refund id (the same id again answers what the first got), and never more back
-- through a payment than the payment took.
--
-- KEYS[1] refunds (hash: refund id -> JSON)  KEYS[2] returned (hash: payment id -> fen)
-- KEYS[3] requests (counter: every refund request, repeats included)
-- ARGV[1] refund id  ARGV[2] payment id  ARGV[3] amount (fen)  ARGV[4] the payment's amount
-- Reply: the refund's JSON {"id", "payment", "amount_fen", "state", "detail"}

local rid, pid = ARGV[1], ARGV[2]
local amount, total = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call("INCR", KEYS[3])
local known = redis.call("HGET", KEYS[1], rid)
if known then return known end
local returned = tonumber(redis.call("HGET", KEYS[2], pid) or "0")
local refund = {id = rid, payment = pid, amount_fen = amount, state = "succeeded", detail = ""}
if amount <= 0 or returned + amount > total then
  refund.state = "refused"
  refund.detail = "exceeds the payment"
else
  redis.call("HINCRBY", KEYS[2], pid, amount)
end
local encoded = cjson.encode(refund)
redis.call("HSET", KEYS[1], rid, encoded)
return encoded
