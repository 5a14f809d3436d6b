"""Fake matplotlib: plotting is a no-op (not installed here)."""
def use(*a, **k): pass
