"""Audit trail tests: helpers shared by the modules (principals, a local ES384 signer, writers)."""

from __future__ import annotations

from joserfc import jwk, jwt

from hub.audit import chain, events
from hub.auth.principal import Principal

CLIENT = Principal(
    "client",
    "county-1-his",
    "org-county-1",
    "institution",
    ("system/*.rs",),
    jti="jti-0001",
    name="县医院 HIS",
)
USER = Principal("user", "zhang.wei", "org-city-1", "specialist", jti=None, name="张伟", purpose="referral")
REGULATOR = Principal(
    "client", "nhc-feed", None, "regulator", ("system/*.rs",), jti="jti-r", purpose="regulator-audit"
)
META = events.RequestMeta("10.1.2.3", "req-42", "https://hub.example.org")


class LocalSigner:
    """A stand-in for hub.auth.keys.HubKeys: ``sign(claims) -> compact JWS`` (ES384), ``public_jwks()``."""

    def __init__(self):
        self.key = jwk.ECKey.generate_key("P-384", private=True, auto_kid=True)

    def sign(self, claims: dict) -> str:
        return jwt.encode({"alg": "ES384", "kid": self.key.kid}, dict(claims), self.key, algorithms=["ES384"])

    def public_jwks(self) -> dict:
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": "ES384", "kid": self.key.kid}]}


def sample_event(i: int, principal: Principal = CLIENT) -> dict:
    """The i-th of a varied run of REST events, one patient each."""
    kinds = ("read", "search-type", "create", "update")
    subtype = kinds[i % len(kinds)]
    return events.rest_event(
        principal,
        subtype,
        patient_id=f"pat-{i % 7}",
        entities=[] if subtype == "search-type" else [f"Observation/obs-{i}"],
        query=f"Observation?patient=pat-{i % 7}&_count=20" if subtype == "search-type" else None,
        request_meta=META,
    )


def append_events(db, n: int, start: int = 0, link: bool = True) -> list[str]:
    """``n`` events, one transaction each, then chained (``link``) as the hub's chainer would."""
    ids = []
    for i in range(start, start + n):
        with db.write() as conn:
            ids.append(chain.append(db, conn, sample_event(i)))
    if link:
        chain.link_all(db)
    return ids


def concurrent_writer(url: str, n: int, worker: int, barrier) -> None:
    """A separate process: its own Database on ``url``, appending ``n`` events one transaction each,
    and chaining what is waiting after each (as every hub process's chainer does, concurrently)."""
    from hub.db import Database

    db = Database(url, pool_size=1)
    try:
        barrier.wait(timeout=60)
        for i in range(n):
            event = events.rest_event(
                CLIENT,
                "read",
                patient_id=f"w{worker}-p{i}",
                entities=[f"Observation/w{worker}-o{i}"],
                request_meta=META,
            )
            with db.write() as conn:
                chain.append(db, conn, event)
            chain.link_pending(db)
    finally:
        db.dispose()
