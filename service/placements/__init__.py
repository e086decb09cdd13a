"""Placements: a participant taking a seat, and ending it with a reason that follow-up reports count."""
