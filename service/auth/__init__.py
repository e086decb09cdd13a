"""Who is asking: bearer tokens (stored hashed), users and their roles."""
