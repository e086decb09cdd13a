"""Signing in on the pages: the user's token in an HttpOnly, SameSite=Strict session cookie, and CSRF tokens.

The CSRF token of a form is an HMAC of the session's token: a page of another site can neither read the cookie nor
compute the token, and no server-side session store is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response
from sqlalchemy.orm import Session

from service.db.models import User
from service.deps import user_of_token

SESSION_COOKIE = "placement_session"
LOGIN_CSRF_COOKIE = "placement_login_csrf"


class LoginRequired(Exception):
    """A page was asked for without a valid session: answered with a redirect to the login page."""


def csrf_for(token: str) -> str:
    return hmac.new(b"placement-web-csrf", token.encode(), hashlib.sha256).hexdigest()


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def login_csrf(request: Request) -> str:
    """The login form's CSRF value: the browser's cookie's, or a new random one (set as a cookie with the form)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def check_login_csrf(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, submitted)


def session_user(request: Request, session: Session) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    user = user_of_token(request, session, token) if token else None
    if user is None:
        raise LoginRequired()
    return user


def check_csrf(request: Request, submitted: str) -> bool:
    token = request.cookies.get(SESSION_COOKIE, "")
    return bool(token) and hmac.compare_digest(csrf_for(token), submitted or "")
