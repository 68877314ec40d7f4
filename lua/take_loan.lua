-- take_loan.lua: a stock bucket takes the units another bucket lent it (lend.lua), once
-- per loan however often it is asked: by the process that asked for the loan, and by the
-- sweeper finishing a loan whose borrower never took it.
--
-- KEYS[1] pools  hash "<pool>.<counter>" -> int
-- KEYS[2] loans_taken  set of the loan ids taken
-- KEYS[3] warehouses  hash "<code>.stock", "<code>.free", ..., "version"
-- ARGV[1] loan id  ARGV[2] the warehouse units that came with it (JSON [[code, n], ...]),
--   then pairs: pool, units
-- Reply: "taken" | "already"
-- Publishes: every pool's remaining units on "<pools key>:stock" when units came in.

-- include: publish_stock

if redis.call("SADD", KEYS[2], ARGV[1]) == 0 then return "already" end
local houses = cjson.decode(ARGV[2])
for _, house in ipairs(houses) do
  redis.call("HINCRBY", KEYS[3], house[1] .. ".free", house[2])
  redis.call("HINCRBY", KEYS[3], house[1] .. ".stock", house[2])
end
if #houses > 0 then redis.call("HINCRBY", KEYS[3], "version", 1) end
for i = 3, #ARGV, 2 do
  local pool, n = ARGV[i], tonumber(ARGV[i + 1])
  redis.call("HINCRBY", KEYS[1], pool .. ".remaining", n)
  redis.call("HINCRBY", KEYS[1], pool .. ".received", n)
end
publish_stock()
return "taken"
