"""What keeps ``brief serve`` safe: the token, CSRF and Origin checks, files only under --out.

The server binds 127.0.0.1 by default; any other address needs a token (:func:`need_token`),
generated and printed as Jupyter does, or given with ``--token``. Every POST carries a CSRF
token (double-submit: a random cookie and the same value in the form) and an Origin (or,
failing that, a Referer) naming this server. :func:`safe_path` is the one way a URL becomes a
file: whatever the spelling (``..``, encoded or doubled, a symlink out), nothing outside
``--out`` is served.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from helpers.errors import UsageError

#: Cookie holding the browser's CSRF value; the form's hidden field must repeat it.
CSRF_COOKIE = "brief_csrf"
#: The form field carrying the CSRF value.
CSRF_FIELD = "csrf_token"
#: Cookie set once a browser has shown the token (``?token=...``).
TOKEN_COOKIE = "brief_token"
#: Largest request body accepted, in bytes: a form is a few hundred.
MAX_BODY = 64 * 1024
#: Every page's Content-Security-Policy: nothing from another host, no script, no plug-in.
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self'"
)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
#: Folders of ``--out`` never served: failed attempts (their error.txt holds tracebacks) and
#: batch logs are for the operator, not the browser.
PRIVATE = frozenset({"_failed", "_logs"})


def is_loopback(host: str) -> bool:
    """True for an address that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def need_token(host: str, token: str | None) -> str | None:
    """The token the server will require: ``token`` if given; a new one for a host that is
    not loopback; ``None`` (no token) on loopback.

    Raises
    ------
    UsageError
        ``token`` given but empty or shorter than 16 characters.
    """
    if token is not None:
        if len(token.strip()) < 16:
            raise UsageError("--token must be at least 16 characters (or leave it out)")
        return token.strip()
    if is_loopback(host):
        return None
    return secrets.token_urlsafe(24)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets, false when either is missing."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def new_csrf() -> str:
    """A fresh CSRF value for a browser's cookie."""
    return secrets.token_urlsafe(24)


def host_allowed(host_header: str, *, token_required: bool) -> bool:
    """Whether a request's Host header may be answered.

    Without a token the server answers only loopback names: a page elsewhere that rebinds
    its own name to 127.0.0.1 (DNS rebinding) is refused. With a token any name is allowed:
    the token is what keeps others out.
    """
    if token_required:
        return True
    host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    if host_header.startswith("["):
        host = host_header.split("]")[0] + "]"
    return host.lower() in LOOPBACK_NAMES or is_loopback(host)


def origin_ok(origin: str | None, referer: str | None, host_header: str, scheme: str) -> bool:
    """True when a POST comes from this server's own pages: its Origin (or, when a browser
    sends none, its Referer) is ``scheme://host`` of the request."""
    expected = f"{scheme}://{host_header}".lower()
    if origin and origin != "null":
        return origin.lower().rstrip("/") == expected
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() == expected
    return False


def safe_path(root: Path, given: str) -> Path | None:
    """The file under ``root`` that the URL path ``given`` names, or ``None``.

    ``None`` for any path that could leave ``root`` or reach what is not a report: a ``..``
    segment (also once more percent-decoded: ``%2e%2e``, ``%252e%252e``), a backslash, a NUL,
    an absolute path, a hidden segment (``.brief.lock``, ``.tmp``), a :data:`PRIVATE` folder,
    or a real path outside ``root`` (a symlink that points out). Only regular files are returned.
    """
    text = given
    for _ in range(3):  # doubled and tripled encodings decode to the same checks
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    if not text or "\x00" in text or "\\" in text or text.startswith("/"):
        return None
    parts = PurePosixPath(text).parts
    if any(part in ("..", ".") or part.startswith(".") for part in parts):
        return None
    if parts and parts[0] in PRIVATE:
        return None
    base = root.resolve()
    candidate = base.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file():
        return None
    return real
