"""The placement service: a FastAPI API over a real database, a thin layer over the `matcher` core."""
