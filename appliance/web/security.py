"""Request hardening for every page: a session cookie, CSRF tokens, content type and headers.

The CSRF token is an HMAC of the session id under a key that lives only in this process, so it
needs no server-side store and dies with a restart. Every state-changing request must carry it
(form field `csrf_token`, or header `X-CSRF-Token` for scripts) and must be a urlencoded form
unless its handler is marked `csrf_exempt` (e.g. a simulation-only panel that protects itself).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from multidict import CIMultiDict

SESSION_COOKIE = "scc_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 16 * 1024  # the largest form is well under 1 kB

CSRF_KEY = web.AppKey("csrf_key", bytes)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_EXEMPT_ATTRIBUTE = "__csrf_exempt__"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Callable[..., Any])

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def csrf_exempt(handler: H) -> H:
    """Mark a handler that checks its own requests (it then gets no CSRF or type check)."""
    setattr(handler, _EXEMPT_ATTRIBUTE, True)
    return handler


def csrf_token(request: web.Request) -> str:
    """The token that forms of this session must send back."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    key = request.config_dict[CSRF_KEY]
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()


def _is_exempt(request: web.Request) -> bool:
    if request.match_info.http_exception is not None:
        return True  # no route: the router answers 404 or 405 and nothing can change
    handler = getattr(request.match_info, "handler", None)
    return bool(getattr(handler, _EXEMPT_ATTRIBUTE, False))


def _same_origin(request: web.Request) -> bool:
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def _refusal(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain")


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    new_session = len(session_id) != 43  # token_urlsafe(32) is 43 characters
    if new_session:
        session_id = secrets.token_urlsafe(32)

    if request.method not in _SAFE_METHODS and not _is_exempt(request):
        refusal = await _check_unsafe(request, new_session)
        if refusal is not None:
            return refusal
    elif new_session:
        # The handler renders forms for the session this response is about to start.
        cookies = request.headers.get("Cookie", "")
        cookie = f"{SESSION_COOKIE}={session_id}"
        headers = CIMultiDict(request.headers)
        headers["Cookie"] = f"{cookies}; {cookie}" if cookies else cookie
        request = request.clone(headers=headers)

    response = await handler(request)
    if new_session:
        response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Strict", path="/")
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")  # "no-referrer" makes Origin null
    headers.setdefault("Cache-Control", "no-store")
    return response


async def _check_unsafe(request: web.Request, new_session: bool) -> web.Response | None:
    """None if the request may change something, else the refusal to send."""
    if not _same_origin(request):
        return _refusal(403, "Refused: the request did not come from this device's pages.")
    if new_session:
        return _refusal(403, "Refused: no session. Reload the page and submit the form again.")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _refusal(413, f"Refused: a form is at most {MAX_BODY_BYTES} bytes.")
    token = await _posted_token(request)
    if isinstance(token, web.Response):
        return token
    if not hmac.compare_digest(token.encode(), csrf_token(request).encode()):
        return _refusal(403, "Refused: the form has expired. Reload the page and try again.")
    return None


async def _posted_token(request: web.Request) -> str | web.Response:
    """The CSRF token from the header, or from a urlencoded form (read within the size cap)."""
    header_token = request.headers.get(CSRF_HEADER)
    if header_token is not None:
        return header_token
    if request.content_type != FORM_CONTENT_TYPE:
        return _refusal(415, f"Refused: forms are sent as {FORM_CONTENT_TYPE}.")
    try:
        form = await request.post()  # bounded by the app's client_max_size
    except web.HTTPRequestEntityTooLarge:
        return _refusal(413, f"Refused: a form is at most {MAX_BODY_BYTES} bytes.")
    posted = form.get(CSRF_FIELD)
    return posted if isinstance(posted, str) else ""


def setup_security(app: web.Application) -> None:
    app[CSRF_KEY] = secrets.token_bytes(32)
    app.middlewares.append(security_middleware)
