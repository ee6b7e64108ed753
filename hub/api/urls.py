"""The URLs a request came in on, worked out once per host rather than once per request.

Werkzeug builds ``request.url_root`` and ``request.host_url`` afresh for every request (parsing the
URL it assembles and converting it to an IRI); the hub needs them on every authenticated request
(a token's audience and issuer, an AuditEvent's source). The result depends only on the scheme, the
Host header (validated by ``request.host`` as werkzeug does) and the root path, so it is cached
on those, in a bounded cache that a flood of made-up Host headers can only evict from.
"""

from __future__ import annotations

from functools import lru_cache

from flask import request
from werkzeug.sansio.utils import get_current_url


@lru_cache(maxsize=256)
def _url(scheme: str, host: str, root_path: str | None) -> str:
    return get_current_url(scheme, host, root_path).rstrip("/")


def root_url() -> str:
    """``request.url_root`` without its trailing slash: scheme, host and the app's root path."""
    return _url(request.scheme, request.host, request.root_path)


def host_url() -> str:
    """``request.host_url`` without its trailing slash: scheme and host."""
    return _url(request.scheme, request.host, None)
