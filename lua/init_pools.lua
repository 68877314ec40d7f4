-- init_pools.lua: set a campaign's pools from its configuration (a process loading a
-- stored campaign). Before the first order the pools are (re)set freely; once an order
-- exists the pools are locked and only the same pools with the same quotas are accepted.
--
-- KEYS[1] pools  KEYS[2] meta ("seq": the last order number, 0 before the first; "pools": the
-- pools' signature)
-- ARGV[1] signature ("name=quota,..." in configuration order), then pairs of name, quota
-- Reply: "set" | "unchanged" | "locked"
-- Publishes: every pool's remaining units on "<pools key>:stock" when the pools are set.

-- include: publish_stock
-- include: set_pools

return set_pools(ARGV[1], 2)
