"""Callers for the benchmarks: clients registered straight in a bench database, tokens from the hub.

``register_client`` adds a machine client (SMART Backend Services) with a fresh EC P-384 key pair to
``auth_client`` through ``hub.auth.clients.add_client``, as ``tests/principals.py`` does.
``TokenHolder`` gets that client's access token from ``POST /auth/token`` of a running hub (a client
assertion signed ES384, ``hub.auth.demo_token.client_assertion``) and gets a new one before it
expires: tokens live at most 300 s (``ACCESS_TOKEN_SECONDS``), a benchmark run longer. It is shared
by all client threads: ``headers()`` is a time check and a dict read, and only the thread that finds
the token due fetches a new one (under a lock).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse

from joserfc import jwk

from hub.auth import clients
from hub.auth.demo_token import token_form
from hub.db import Database

REFRESH_AFTER = 240.0  # seconds; the hub's tokens live 300 s


def new_key() -> jwk.ECKey:
    return jwk.ECKey.generate_key("P-384", private=True, auto_kid=True)


def register_client(
    sa_url: str,
    name: str,
    organization: str | None = None,
    role: str = "admin",
    scopes: str = "system/*.cruds",
) -> tuple[str, jwk.ECKey]:
    """Register a client with a new key pair in the database at ``sa_url``: ``(client_id, key)``."""
    key = new_key()
    public = {"keys": [key.as_dict(private=False)]}
    db = Database(sa_url, pool_size=1)
    try:
        with db.write() as conn:
            client_id = clients.add_client(conn, name, organization, role, scopes, jwks=public)
    finally:
        db.dispose()
    return client_id, key


def token_in_process(app, client_id: str, key: jwk.ECKey, base: str = "http://localhost") -> str:
    """An access token from the app's own token endpoint through Flask's test client (no HTTP)."""
    r = app.test_client().post(
        "/auth/token", data=token_form(client_id, key, f"{base}/auth/token"), base_url=base
    )
    if r.status_code != 200:
        raise RuntimeError(f"token refused in-process: {r.status_code} {r.get_data()[:300]!r}")
    return r.get_json()["access_token"]


class TokenHolder:
    """A client's current access token from a hub on 127.0.0.1:``port``, refreshed after
    ``refresh_after`` seconds (or 80 % of the token's lifetime, if that is shorter)."""

    def __init__(
        self,
        port: int,
        client_id: str,
        key: jwk.ECKey,
        base_headers: dict[str, str] | None = None,
        refresh_after: float = REFRESH_AFTER,
        scope: str | None = None,
    ):
        self.port, self.client_id, self.key, self.scope = port, client_id, key, scope
        self.token_url = f"http://127.0.0.1:{port}/auth/token"
        self.base_headers = dict(base_headers or {})
        self.refresh_after = refresh_after
        self._lock = threading.Lock()
        self._due = float("-inf")  # monotonic time at which to fetch a new token
        self._headers: dict[str, str] = {}
        self.token = ""
        self.fetches = 0
        self.fetch_ms: list[float] = []

    def headers(self) -> dict[str, str]:
        """The request headers with ``Authorization: Bearer <current token>`` (do not modify)."""
        if time.monotonic() >= self._due:
            with self._lock:
                if time.monotonic() >= self._due:
                    self._fetch()
        return self._headers

    def bearer(self) -> str:
        return self.headers()["Authorization"]

    def _fetch(self) -> None:
        started = time.monotonic()
        body = urllib.parse.urlencode(token_form(self.client_id, self.key, self.token_url, self.scope))
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(
                "POST",
                "/auth/token",
                body=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            )
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"POST /auth/token answered {resp.status}: {data[:300]!r}")
        got = json.loads(data)
        lifetime = float(got.get("expires_in") or 300)
        self.token = got["access_token"]
        self._headers = {**self.base_headers, "Authorization": f"Bearer {self.token}"}
        # Counted from before the request: the token cannot be older than that.
        self._due = started + min(self.refresh_after, 0.8 * lifetime)
        self.fetches += 1
        self.fetch_ms.append(round((time.monotonic() - started) * 1e3, 1))


class FixedHeaders:
    """The ``headers()`` of a caller that needs no token (the hub without authentication)."""

    def __init__(self, headers: dict[str, str]):
        self._headers = dict(headers)
        self.fetches = 0

    def headers(self) -> dict[str, str]:
        return self._headers
