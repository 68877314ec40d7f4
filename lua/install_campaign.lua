-- install_campaign.lua: make an uploaded (validated) campaign file the live version, in one
-- atomic step: its pools set (or refused when orders exist and they would change) and the
-- file stored with a new version number. Either both happen or neither does.
--
-- KEYS[1] pools  KEYS[2] meta
-- KEYS[3] config (hash: "toml" the live file, "version", "toml:<n>" every version's file)
-- ARGV[1] the file  ARGV[2] the pools' signature, then pairs of name, quota
-- Reply: {"installed", version} | {"locked", 0}
-- Publishes: every pool's remaining units on "<pools key>:stock" when the pools are set.

-- include: publish_stock
-- include: set_pools

if set_pools(ARGV[2], 3) == "locked" then return {"locked", 0} end
local version = redis.call("HINCRBY", KEYS[3], "version", 1)
redis.call("HSET", KEYS[3], "toml", ARGV[1], "toml:" .. version, ARGV[1])
return {"installed", version}
