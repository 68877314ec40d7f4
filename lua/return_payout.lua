-- return_payout.lua: a transfer the provider refused gives its payout back to the
-- distributor's balance, once: a payout entry of the opposite amount, marked with the payout
-- it returns, written only the first time this payout is returned.
--
-- KEYS[1] identity stream  KEYS[2] returned (set of payout ids already given back)
-- ARGV[1] the payout's id (its stream id)  ARGV[2] distributor code  ARGV[3] amount (fen)
-- Reply: 1 when given back now, 0 when it was already

if redis.call("SADD", KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call("XADD", KEYS[1], "*", "type", "payout", "distributor", ARGV[2],
  "amount_fen", -tonumber(ARGV[3]), "returns", ARGV[1])
return 1
