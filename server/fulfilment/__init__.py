"""Fulfilment's adapters: the router that sends paid orders to warehouses, the pick lists.
The rules are in server/domain/routing.py and server/domain/addresses.py."""
