"""The web interface in Swedish: server-rendered pages over the feature services (docs/web.md)."""
