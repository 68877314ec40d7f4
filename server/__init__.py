"""liveroom: presale, group buy and distribution on one stock pool, one ledger, one screen."""
