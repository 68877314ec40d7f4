"""The durable ledger: every order and state change, written once from the order stream."""
