-- Shared by the scripts that give units back to the pools (release, decide_after_sale):
-- a unit whose pool has since been closed follows that pool's return chain, so none is
-- stranded. Expects KEYS[1] to be the campaign's pools hash.
local function returned_to(pool)
  return redis.call("HGET", KEYS[1], pool .. ".returned_to")
end

local function put_back(pool, units)
  local forward = returned_to(pool)
  local hops = 0
  while forward and hops < 16 do
    redis.call("HINCRBY", KEYS[1], pool .. ".moved_out", units)
    redis.call("HINCRBY", KEYS[1], forward .. ".moved_in", units)
    pool, forward, hops = forward, returned_to(forward), hops + 1
  end
  redis.call("HINCRBY", KEYS[1], pool .. ".remaining", units)
end
