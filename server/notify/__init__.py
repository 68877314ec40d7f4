"""Notices to viewers: planned from the campaign's facts, delivered once (notifier.py)."""
