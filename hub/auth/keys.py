"""The hub's own signing key (EC P-384, ES384): access tokens are signed with it.

The private key is a JWK in ``<INSTANCE_PATH>/keys/hub-signing.jwk.json`` (mode 0600, never in
git). It is created on first use under an exclusive ``fcntl`` lock, so that several gunicorn
workers starting together end up with one key; the file is written to a temporary name and
renamed into place, so a reader never sees half a key.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from pathlib import Path

from joserfc import jwk, jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError

from hub.errors import Unauthorized

log = logging.getLogger(__name__)

ALG = "ES384"
CURVE = "P-384"
KEY_FILE = "hub-signing.jwk.json"
LEEWAY = 30  # seconds of clock skew tolerated on exp / nbf / iat


class KeyFileError(RuntimeError):
    """The key file exists but does not hold a usable EC P-384 private key."""


class HubKeys:
    def __init__(self, key: jwk.ECKey, path: Path | None = None):
        if not isinstance(key, jwk.ECKey) or key.curve_name != CURVE or not key.is_private:
            raise KeyFileError("the hub signing key must be an EC P-384 private key")
        if not key.kid:
            key.ensure_kid()
        self._key = key
        self._public = jwk.import_key(key.as_dict(private=False))
        self.path = path

    @property
    def kid(self) -> str:
        return self._key.kid

    @classmethod
    def load(cls, instance_path: str | os.PathLike) -> HubKeys:
        """Read the key from ``<instance_path>/keys/``, creating it (once, under a lock) if absent."""
        folder = Path(instance_path) / "keys"
        path = folder / KEY_FILE
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(folder / ".hub-signing.lock", "a+") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                try:
                    if not path.exists():  # another process may have made it while we waited
                        _create(path)
                finally:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        return cls(_read(path), path)

    def sign(self, claims: dict, headers: dict | None = None) -> str:
        """A compact JWS (ES384) over ``claims``, with this key's ``kid`` in the header."""
        header = {"typ": "JWT", **(headers or {}), "alg": ALG, "kid": self.kid}
        return jwt.encode(header, dict(claims), self._key, algorithms=[ALG])

    def verify(
        self,
        token: str,
        audience: str | None = None,
        *,
        issuer: str | None = None,
        typ: str | None = None,
        max_lifetime: int | None = None,
    ) -> dict:
        """The claims of a token this key signed; ``Unauthorized`` on anything wrong.

        Checks the signature, ``exp`` (required), ``nbf`` and ``iat`` (not in the future), and when
        given: ``aud`` contains ``audience``, ``iss`` equals ``issuer``, the header ``typ``, and
        that ``exp`` is at most ``max_lifetime`` seconds ahead.
        """
        if not isinstance(token, str) or token.count(".") != 2:
            raise Unauthorized("the access token is not a signed JWT")
        try:
            kid = jws.extract_compact(token.encode("ascii")).headers().get("kid")
        except (JoseError, ValueError, TypeError):
            raise Unauthorized("the access token is not a well-formed JWT") from None
        if kid != self.kid:
            raise Unauthorized("the access token was signed by a key this hub does not use")
        try:
            decoded = jwt.decode(token, self._public, algorithms=[ALG])
        except JoseError as exc:
            raise Unauthorized(f"the access token does not verify ({_describe(exc)})") from None
        except (ValueError, TypeError):
            raise Unauthorized("the access token is not a well-formed JWT") from None
        header, claims = decoded.header, decoded.claims
        if typ is not None and header.get("typ") != typ:
            raise Unauthorized(f"the token is not an access token (typ must be '{typ}')")
        options: dict = {"exp": {"essential": True}}
        if audience is not None:
            options["aud"] = {"essential": True, "value": audience}
        if issuer is not None:
            options["iss"] = {"essential": True, "value": issuer}
        try:
            jwt.JWTClaimsRegistry(leeway=LEEWAY, **options).validate(claims)
        except ExpiredTokenError:
            raise Unauthorized("the access token has expired; get a new one") from None
        except JoseError as exc:
            raise Unauthorized(f"the access token is not valid here ({_describe(exc)})") from None
        if max_lifetime is not None and claims["exp"] > time.time() + max_lifetime + LEEWAY:
            raise Unauthorized("the access token lives longer than this hub issues tokens for")
        return claims

    def public_jwks(self) -> dict:
        return {"keys": [{**self._public.as_dict(private=False), "use": "sig", "alg": ALG, "kid": self.kid}]}


def _describe(exc: JoseError) -> str:
    return exc.description or exc.error


def _create(path: Path) -> None:
    key = jwk.ECKey.generate_key(CURVE, private=True, auto_kid=True)
    data = json.dumps({**key.as_dict(private=True), "alg": ALG, "use": "sig"}, indent=2).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    log.info("created the hub signing key %s (kid %s)", path, key.kid)


def _read(path: Path) -> jwk.ECKey:
    try:
        data = json.loads(path.read_text())
        key = jwk.import_key(data)
    except (OSError, ValueError, JoseError) as exc:
        raise KeyFileError(f"{path} does not hold a JWK: {exc}") from None
    if not isinstance(key, jwk.ECKey) or key.curve_name != CURVE or not key.is_private:
        raise KeyFileError(f"{path} must hold an EC P-384 private key")
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    return key


class LazyHubKeys:
    """The hub key of an instance folder, read (or created) when first used; thread-safe.

    Has the interface of ``HubKeys``, so it can stand where one is expected.
    """

    def __init__(self, instance_path: str | os.PathLike):
        self.instance_path = instance_path
        self._keys: HubKeys | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> HubKeys:
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    self._keys = HubKeys.load(self.instance_path)
        return self._keys

    @property
    def kid(self) -> str:
        return self.loaded.kid

    def sign(self, claims: dict, headers: dict | None = None) -> str:
        return self.loaded.sign(claims, headers)

    def verify(self, token: str, audience: str | None = None, **options) -> dict:
        return self.loaded.verify(token, audience, **options)

    def public_jwks(self) -> dict:
        return self.loaded.public_jwks()
