"""Live feeds: metrics read from Redis, coalesced into snapshots, fanned out over websockets."""
