"""Redis adapters: keys, scripts, and one adapter per concern."""
