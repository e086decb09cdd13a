"""Bearer tokens: random, shown once, stored only as a SHA-256 hash (they carry 256 bits, so no slow hash needed)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "plc_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
