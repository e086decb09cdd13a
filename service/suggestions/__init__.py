"""Ranked suggestions for one participant against the seats free right now."""
