-- take_loan.lua: a stock bucket takes the units another bucket lent it (lend.lua), once
-- per loan however often it is asked: by the process that asked for the loan, and by the
-- sweeper finishing a loan whose borrower never took it.
--
-- KEYS[1] pools  hash "<pool>.<counter>" -> int
-- KEYS[2] loans_taken  set of the loan ids taken
-- ARGV[1] loan id, then pairs: pool, units
-- Reply: "taken" | "already"
-- Publishes: every pool's remaining units on "<pools key>:stock" when units came in.

-- include: publish_stock

if redis.call("SADD", KEYS[2], ARGV[1]) == 0 then return "already" end
for i = 2, #ARGV, 2 do
  local pool, n = ARGV[i], tonumber(ARGV[i + 1])
  redis.call("HINCRBY", KEYS[1], pool .. ".remaining", n)
  redis.call("HINCRBY", KEYS[1], pool .. ".received", n)
end
publish_stock()
return "taken"
