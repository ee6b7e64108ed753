"""The registry of machine clients (SMART Backend Services, AUTH-02) over ``auth_client``.

A client is a hospital adapter, the regulator's feed or an alliance-office tool. It authenticates
at ``/auth/token`` with a JWT signed by one of its own keys (``private_key_jwt``); the hub holds
only the public keys: an inline JWKS, or the URL the client publishes its JWKS at (fetched when
needed, cached for at most five minutes or what the response's Cache-Control allows).

Every key must be an RSA key of at least 2048 bits or an EC P-384 key, public, with a ``kid``.

``register_cli(app)`` adds ``flask client add|disable|enable|rotate-key|list``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from joserfc import jwk
from joserfc.errors import JoseError
from sqlalchemy import false, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from hub.auth.principal import CLIENT_ROLES, INSTITUTION, REGULATOR
from hub.auth.scopes import Scope, ScopeError, format_scopes, parse_scopes
from hub.auth.tables import auth_client
from hub.errors import BadRequest, HubError, NotFound

JWKS_CACHE_SECONDS = 300
JWKS_FETCH_TIMEOUT = 5
JWKS_MAX_BYTES = 256 * 1024
MIN_RSA_BITS = 2048
_CLIENT_ID_LENGTH = 24  # bytes of randomness -> 32 url-safe characters


class ClientError(BadRequest):
    """A client registration that cannot be accepted."""


class ClientKeyError(Exception):
    """The client's keys cannot be had (the JWKS URL is down, or serves something unusable)."""


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    organization_id: str | None
    role: str
    scopes: tuple[Scope, ...]
    jwks: dict | None
    jwks_url: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @property
    def scope_text(self) -> str:
        return format_scopes(self.scopes)

    # authlib's ClientMixin, as far as the token endpoint uses it
    def get_client_id(self) -> str:
        return self.client_id

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return self.enabled and method == "private_key_jwt" and endpoint == "token"

    def check_grant_type(self, grant_type: str) -> bool:
        return self.enabled and grant_type == "client_credentials"


# ------------------------------------------------------------------------------ registry


def new_client_id() -> str:
    """A random client id that never starts with "-" (a command line would take it for an option)."""
    while (client_id := secrets.token_urlsafe(_CLIENT_ID_LENGTH)).startswith("-"):
        pass
    return client_id


def add_client(
    conn: Connection,
    name: str,
    organization_id: str | None,
    role: str,
    scopes: str,
    jwks: dict | str | None = None,
    jwks_url: str | None = None,
) -> str:
    """Register a client; returns its new client_id. ``ClientError`` if anything is invalid.

    ``jwks`` is a JWKS (dict, JSON text, or the path of a JSON file); ``jwks_url`` is an http(s)
    URL the client publishes its JWKS at. Give exactly one.
    """
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ClientError("a client needs a name of 1 to 200 characters")
    role = _check_role(role)
    organization_id = _check_organization(conn, organization_id, role)
    scope_text = format_scopes(check_scopes(scopes, role))
    jwks_text, jwks_url = _check_keys(jwks, jwks_url)
    client_id = new_client_id()
    now = _now()
    conn.execute(
        auth_client.insert().values(
            client_id=client_id,
            name=name,
            organization_id=organization_id,
            role=role,
            scopes=scope_text,
            jwks=jwks_text,
            jwks_url=jwks_url,
            enabled=True,
            created_at=now,
            updated_at=now,
        )
    )
    return client_id


def get_client(conn: Connection, client_id: str) -> Client | None:
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return None
    row = conn.execute(select(auth_client).where(auth_client.c.client_id == client_id)).mappings().first()
    return _client(row) if row else None


def list_clients(conn: Connection) -> list[Client]:
    rows = conn.execute(select(auth_client).order_by(auth_client.c.name, auth_client.c.client_id)).mappings()
    return [_client(r) for r in rows]


def disable_client(conn: Connection, client_id: str) -> None:
    _update(conn, client_id, enabled=False)


def enable_client(conn: Connection, client_id: str) -> None:
    _update(conn, client_id, enabled=True)


def rotate_keys(
    conn: Connection, client_id: str, jwks: dict | str | None = None, jwks_url: str | None = None
):
    """Replace the client's keys: assertions signed with the old ones are refused from now on."""
    jwks_text, jwks_url = _check_keys(jwks, jwks_url)
    _update(conn, client_id, jwks=jwks_text, jwks_url=jwks_url)
    forget_keys(client_id)


def _update(conn: Connection, client_id: str, **values) -> None:
    done = conn.execute(
        auth_client.update().where(auth_client.c.client_id == client_id).values(updated_at=_now(), **values)
    )
    if done.rowcount != 1:
        raise NotFound(f"there is no client '{client_id}'")
    from hub.auth.bearer import forget_clients  # bearer imports this module

    forget_clients()  # this process at once; other processes within bearer.CLIENT_RECHECK_SECONDS


def _client(row) -> Client:
    return Client(
        client_id=row["client_id"],
        name=row["name"],
        organization_id=row["organization_id"],
        role=row["role"],
        scopes=parse_scopes(row["scopes"]),
        jwks=json.loads(row["jwks"]) if row["jwks"] else None,
        jwks_url=row["jwks_url"],
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------- validation


def _check_role(role: str) -> str:
    if role not in CLIENT_ROLES:
        raise ClientError(f"role must be one of {', '.join(CLIENT_ROLES)}, not '{role}'")
    return role


def _check_organization(conn: Connection, organization_id: str | None, role: str) -> str | None:
    from hub.models import resource_tables

    organization_id = (organization_id or "").strip() or None
    if organization_id is None:
        if role == INSTITUTION:
            raise ClientError("an institution client needs --organization (the id of its Organization)")
        return None
    org = resource_tables["Organization"]
    found = conn.execute(
        select(org.c.fhir_id).where(org.c.fhir_id == organization_id, org.c.deleted == false())
    ).first()
    if found is None:
        raise ClientError(f"there is no Organization/{organization_id} in the store")
    return organization_id


def check_scopes(text: str, role: str) -> tuple[Scope, ...]:
    """The scopes a client may be registered with: SMART ``system/`` scopes of known types."""
    from hub.fhir.registry import TYPES

    try:
        scopes = parse_scopes(text)
    except ScopeError as exc:
        raise ClientError(f"scope {exc}") from None
    if not scopes:
        raise ClientError("a client needs at least one scope, e.g. --scopes 'system/Patient.rs'")
    for s in scopes:
        if s.context != "system":
            raise ClientError(f"'{s}': machine clients get system/ scopes only")
        if s.type != "*" and s.type not in TYPES:
            raise ClientError(f"'{s}': {s.type} is not a resource type this hub stores")
        if role == REGULATOR and s.ops - {"r", "s"}:
            raise ClientError(f"'{s}': a regulator client reads and searches only (.rs)")
    return scopes


def _check_keys(jwks, jwks_url) -> tuple[str | None, str | None]:
    if (jwks is None) == (jwks_url is None):
        raise ClientError("give the client's public keys: either a JWKS or a JWKS URL (not both)")
    if jwks_url is not None:
        jwks_url = jwks_url.strip()
        if not re.match(r"^https?://[^\s/?#]+[^\s]*$", jwks_url) or len(jwks_url) > 2000:
            raise ClientError(f"'{jwks_url}' is not an http(s) URL")
        return None, jwks_url
    data = _jwks_data(jwks)
    validate_jwks(data)
    return json.dumps(data, separators=(",", ":"), sort_keys=True), None


def _jwks_data(jwks) -> dict:
    if isinstance(jwks, dict):
        return jwks
    if isinstance(jwks, Path) or (isinstance(jwks, str) and not jwks.lstrip().startswith("{")):
        path = Path(jwks)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ClientError(f"cannot read the JWKS file {path}: {exc.strerror or exc}") from None
        where = str(path)
    else:
        text, where = jwks, "the JWKS"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ClientError(f"{where} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ClientError(f"{where} is not a JWKS (a JSON object with 'keys')")
    return data


def validate_jwks(data) -> jwk.KeySet:
    """A JWKS of the client's public keys -> KeySet; ``ClientError`` naming the first bad key."""
    if isinstance(data, dict) and "keys" not in data and "kty" in data:
        raise ClientError('this is a single JWK; give a JWKS: {"keys": [ ... ]}')
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise ClientError("a JWKS is a JSON object with a non-empty 'keys' list")
    keys, kids = [], set()
    for i, entry in enumerate(data["keys"]):
        where = f"key {i + 1}" + (f" (kid '{entry.get('kid')}')" if isinstance(entry, dict) else "")
        if not isinstance(entry, dict):
            raise ClientError(f"{where} is not a JSON object")
        if entry.get("d") is not None or entry.get("p") is not None:
            raise ClientError(f"{where} contains private key material; register the public key only")
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ClientError(f"{where} has no 'kid'")
        if kid in kids:
            raise ClientError(f"{where}: two keys have the kid '{kid}'")
        kids.add(kid)
        if entry.get("kty") == "RSA":  # before importing: joserfc warns about small keys
            bits = _rsa_bits(entry.get("n"))
            if bits < MIN_RSA_BITS:
                raise ClientError(
                    f"{where} is an RSA key of {bits} bits; at least {MIN_RSA_BITS} are required"
                )
        try:
            key = jwk.import_key(entry)
        except (JoseError, ValueError, TypeError) as exc:
            raise ClientError(f"{where} is not a valid JWK: {exc}") from None
        if isinstance(key, jwk.RSAKey):
            bits = key.raw_value.key_size
            if bits < MIN_RSA_BITS:
                raise ClientError(
                    f"{where} is an RSA key of {bits} bits; at least {MIN_RSA_BITS} are required"
                )
        elif isinstance(key, jwk.ECKey):
            if key.curve_name != "P-384":
                raise ClientError(f"{where} is on curve {key.curve_name}; EC keys must be P-384 (ES384)")
        else:
            raise ClientError(f"{where} is a {entry.get('kty')} key; only RSA and EC P-384 keys are accepted")
        keys.append(key)
    return jwk.KeySet(keys)


def _rsa_bits(n) -> int:
    if not isinstance(n, str):
        return 0
    try:
        return int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big").bit_length()
    except ValueError:
        return 0


# --------------------------------------------------------------------------- key lookup

_cache: dict[str, tuple[str, float, jwk.KeySet]] = {}  # client_id -> (url, good until, keys)
_cache_lock = threading.Lock()


def client_keys(client: Client, *, refresh: bool = False) -> jwk.KeySet:
    """The client's public keys. A JWKS URL is fetched when not cached (or ``refresh``)."""
    if client.jwks is not None:
        try:
            return validate_jwks(client.jwks)
        except ClientError as exc:
            raise ClientKeyError(f"the registered JWKS is unusable: {exc}") from None
    url = client.jwks_url
    if not url:
        raise ClientKeyError("the client has no keys registered")
    with _cache_lock:
        cached = _cache.get(client.client_id)
    if cached and cached[0] == url and cached[1] > time.monotonic() and not refresh:
        return cached[2]
    keys, max_age = _fetch_jwks(url)
    if max_age > 0:
        with _cache_lock:
            _cache[client.client_id] = (url, time.monotonic() + max_age, keys)
    else:
        forget_keys(client.client_id)
    return keys


def is_cached(client_id: str) -> bool:
    with _cache_lock:
        return client_id in _cache


def forget_keys(client_id: str | None = None) -> None:
    """Drop cached JWKS (one client's, or all)."""
    with _cache_lock:
        if client_id is None:
            _cache.clear()
        else:
            _cache.pop(client_id, None)


def _fetch_jwks(url: str) -> tuple[jwk.KeySet, int]:
    import requests

    try:
        with requests.get(
            url, timeout=JWKS_FETCH_TIMEOUT, stream=True, headers={"Accept": "application/json"}
        ) as resp:
            if resp.status_code != 200:
                raise ClientKeyError(f"the JWKS URL answered HTTP {resp.status_code}")
            body = resp.raw.read(JWKS_MAX_BYTES + 1, decode_content=True)
            cache_control = resp.headers.get("Cache-Control", "")
    except requests.RequestException as exc:
        raise ClientKeyError(f"the JWKS URL cannot be fetched ({type(exc).__name__})") from None
    if len(body) > JWKS_MAX_BYTES:
        raise ClientKeyError("the JWKS at the URL is too large")
    try:
        keys = validate_jwks(json.loads(body))
    except ValueError as exc:
        raise ClientKeyError(f"the JWKS URL does not serve JSON: {exc}") from None
    except ClientError as exc:
        raise ClientKeyError(f"the JWKS at the URL is unusable: {exc}") from None
    return keys, _max_age(cache_control)


def _max_age(cache_control: str) -> int:
    directives = {}
    for part in cache_control.lower().split(","):
        k, _, v = part.strip().partition("=")
        directives[k] = v.strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0
    if "max-age" in directives:
        try:
            return max(0, min(JWKS_CACHE_SECONDS, int(directives["max-age"])))
        except ValueError:
            return 0
    return JWKS_CACHE_SECONDS


# -------------------------------------------------------------------------------- the CLI


def jwks_argument(value: str) -> dict:
    """``--jwks FILE_OR_URL`` (or inline JSON) -> keyword arguments for add_client / rotate_keys."""
    value = (value or "").strip()
    if value.startswith(("http://", "https://")):
        return {"jwks_url": value}
    return {"jwks": value}


def register_cli(app: Flask) -> None:
    if "client" in app.cli.commands:
        return
    group = AppGroup("client", help="Machine clients (SMART Backend Services) allowed to get tokens.")

    @group.command("add")
    @click.option("--name", required=True, help="A readable name, e.g. 'Tonghai HIS adapter'.")
    @click.option("--organization", "organization", default=None, help="The client's Organization id.")
    @click.option("--scopes", required=True, help="Space-separated system/ scopes, e.g. 'system/*.rs'.")
    @click.option("--jwks", "jwks", required=True, help="The public JWKS: a file, an http(s) URL, or JSON.")
    @click.option("--role", type=click.Choice(CLIENT_ROLES), default=INSTITUTION, show_default=True)
    def add(name, organization, scopes, jwks, role):
        """Register a client and print its client_id."""
        with _errors(), _db().write() as conn:
            client_id = add_client(conn, name, organization, role, scopes, **jwks_argument(jwks))
        click.echo(client_id)

    @group.command("disable")
    @click.argument("client_id")
    def disable(client_id):
        """Refuse the client's assertions and tokens from now on."""
        with _errors(), _db().write() as conn:
            disable_client(conn, client_id)
        click.echo(f"client {client_id} disabled")

    @group.command("enable")
    @click.argument("client_id")
    def enable(client_id):
        """Accept a disabled client again."""
        with _errors(), _db().write() as conn:
            enable_client(conn, client_id)
        click.echo(f"client {client_id} enabled")

    @group.command("rotate-key")
    @click.argument("client_id")
    @click.option(
        "--jwks", "jwks", required=True, help="The new public JWKS: a file, an http(s) URL, or JSON."
    )
    def rotate_key(client_id, jwks):
        """Replace the client's public keys (the old ones stop working at once)."""
        with _errors(), _db().write() as conn:
            rotate_keys(conn, client_id, **jwks_argument(jwks))
        click.echo(f"client {client_id}: keys replaced")

    @group.command("list")
    def list_():
        """Show the registered clients."""
        with _errors(), _db().read() as conn:
            clients = list_clients(conn)
        click.echo(format_table(clients))

    @group.command("demo")
    def demo():
        """Register the demo clients of the seeded alliance (idempotent) and show them."""
        from hub.auth.demo import demo_directory, ensure_demo_clients, format_demo_clients

        with _errors():
            rows = ensure_demo_clients(current_app)
        folder = demo_directory(current_app.extensions["xietong"].config.INSTANCE_PATH)
        click.echo(f"demo clients (keys in {folder}/):")
        click.echo(format_demo_clients(rows))

    app.cli.add_command(group)


def format_table(clients: list[Client]) -> str:
    if not clients:
        return "no clients registered (add one with: flask client add ...)"
    head = ("CLIENT_ID", "NAME", "ROLE", "ORGANIZATION", "STATUS", "KEYS", "SCOPES")
    rows = [
        (
            c.client_id,
            c.name,
            c.role,
            c.organization_id or "-",
            "enabled" if c.enabled else "disabled",
            c.jwks_url or f"inline ({len(c.jwks.get('keys', []))} keys)",
            c.scope_text,
        )
        for c in clients
    ]
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    lines = []
    for r in [head, *rows]:
        cells = [r[i] + " " * (widths[i] - _width(r[i])) for i in range(len(widths))]
        lines.append("  ".join([*cells, r[-1]]))
    return "\n".join(lines)


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def _db():
    return current_app.extensions["xietong"].db


class _errors:
    """Turn expected failures into one clear line on stderr and exit code 1."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, click.exceptions.Exit | click.ClickException):
            return False
        if isinstance(exc, HubError):
            message = str(exc)
        elif isinstance(exc, SQLAlchemyError):
            message = f"database error ({type(exc).__name__}); is the database migrated (flask db upgrade)?"
        else:
            return False
        click.echo(f"Error: {message}", err=True)
        sys.exit(1)
