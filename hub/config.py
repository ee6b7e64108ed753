"""Configuration: a class per environment, read from the environment and checked at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    DATABASE_URL: str = "sqlite:///instance/xietong.sqlite"
    HOST: str = "127.0.0.1"
    PORT: int = 5000
    # The canonical base of the hub's own profiles, code systems and extensions.
    CANONICAL_BASE: str = "http://xietong.example/fhir"
    # Largest request body accepted (bytes); larger ones get 413.
    MAX_BODY_BYTES: int = 16 * 1024 * 1024
    SEARCH_DEFAULT_COUNT: int = 20
    SEARCH_MAX_COUNT: int = 1000
    DB_POOL_SIZE: int = 10
    # Notifications (hub.notify): run the delivery worker in this process (the embedded hub; else
    # run `flask notify worker`); at most this many events per notification; the endpoint's time to
    # answer; retries back off from NOTIFY_RETRY_BASE_MS doubling up to NOTIFY_RETRY_MAX_SECONDS;
    # the outbox is polled every NOTIFY_POLL_MS on SQLite (PostgreSQL wakes workers by NOTIFY).
    NOTIFY_IN_PROCESS: bool = False
    NOTIFY_BATCH: int = 100
    NOTIFY_TIMEOUT_SECONDS: int = 10
    NOTIFY_RETRY_BASE_MS: int = 1000
    NOTIFY_RETRY_MAX_SECONDS: int = 600
    NOTIFY_POLL_MS: int = 250
    NOTIFY_THREADS: int = 8
    # Where the hub keeps what must survive restarts but never enters git: its signing keys
    # (instance/keys/), the session secret, the demo clients' private keys.
    INSTANCE_PATH: str = "instance"
    # The public URL of the hub (token audience, token issuer); default: taken from each request.
    PUBLIC_BASE_URL: str = ""
    ACCESS_TOKEN_SECONDS: int = 300
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_LOCKOUT_SECONDS: int = 900
    # How often each hub process links waiting AuditEvents into the hash chain (milliseconds);
    # 0: no chainer in the hub processes (run `flask audit chain --follow` instead).
    AUDIT_CHAIN_INTERVAL_MS: int = 200
    SQL_ECHO: bool = False
    # Referrals: days a referral stays valid if nobody acts on it; per-priority hours to
    # acknowledge (open) and to accept (or decline) it; seconds between in-process timer checks
    # (0: none; then run `flask referrals tick` from cron).
    REFERRAL_VALIDITY_DAYS: int = 90
    REFERRAL_ACK_HOURS: str = "stat=0.5,asap=1,urgent=4,routine=24"
    REFERRAL_ACCEPT_HOURS: str = "stat=1,asap=8,urgent=24,routine=72"
    REFERRAL_TICK_SECONDS: int = 0
    TESTING: bool = False

    @classmethod
    def from_env(cls, environ=None, **overrides) -> Config:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            if f.name in overrides:
                values[f.name] = overrides.pop(f.name)
            elif f.name in environ:
                values[f.name] = _coerce(f.name, f.type, environ[f.name])
        if overrides:
            raise ConfigError(f"unknown configuration keys: {', '.join(sorted(overrides))}")
        cfg = cls(**values)
        cfg.check()
        return cfg

    def check(self) -> None:
        if not self.DATABASE_URL.startswith(("sqlite:", "postgresql+psycopg:")):
            raise ConfigError(
                "DATABASE_URL must be a sqlite:/// path or a postgresql+psycopg:// URL, "
                f"not {self.DATABASE_URL.split(':')[0]}:…"
            )
        if not 0 < self.PORT < 65536:
            raise ConfigError(f"PORT {self.PORT} is not a TCP port")
        if self.MAX_BODY_BYTES < 1024:
            raise ConfigError("MAX_BODY_BYTES must be at least 1024")
        if not (1 <= self.NOTIFY_BATCH <= 1000 and 1 <= self.NOTIFY_TIMEOUT_SECONDS <= 120):
            raise ConfigError("NOTIFY_BATCH must be 1..1000 and NOTIFY_TIMEOUT_SECONDS 1..120")
        notify = (
            self.NOTIFY_RETRY_BASE_MS,
            self.NOTIFY_RETRY_MAX_SECONDS,
            self.NOTIFY_POLL_MS,
            self.NOTIFY_THREADS,
        )
        if min(notify) < 1:
            raise ConfigError(
                "NOTIFY_RETRY_BASE_MS, NOTIFY_RETRY_MAX_SECONDS, NOTIFY_POLL_MS and NOTIFY_THREADS "
                "must be positive"
            )
        if not 30 <= self.ACCESS_TOKEN_SECONDS <= 300:
            raise ConfigError("ACCESS_TOKEN_SECONDS must be between 30 and 300 (SMART Backend Services)")
        if self.PUBLIC_BASE_URL and not self.PUBLIC_BASE_URL.startswith(("http://", "https://")):
            raise ConfigError("PUBLIC_BASE_URL must be an http(s) URL")
        if self.AUDIT_CHAIN_INTERVAL_MS < 0:
            raise ConfigError("AUDIT_CHAIN_INTERVAL_MS must be 0 (no in-process chainer) or more")
        if not 1 <= self.SEARCH_DEFAULT_COUNT <= self.SEARCH_MAX_COUNT:
            raise ConfigError("SEARCH_DEFAULT_COUNT must be between 1 and SEARCH_MAX_COUNT")
        if self.REFERRAL_VALIDITY_DAYS < 1 or self.REFERRAL_TICK_SECONDS < 0:
            raise ConfigError(
                "REFERRAL_VALIDITY_DAYS must be positive and REFERRAL_TICK_SECONDS not negative"
            )
        for name in ("REFERRAL_ACK_HOURS", "REFERRAL_ACCEPT_HOURS"):
            priority_hours(name, getattr(self, name))


PRIORITIES = ("stat", "asap", "urgent", "routine")


def priority_hours(name: str, raw: str) -> dict[str, float]:
    """``stat=1,asap=8,urgent=24,routine=72`` -> hours per request priority (all four, positive)."""
    out = {}
    for item in raw.split(","):
        key, _, value = item.strip().partition("=")
        try:
            hours = float(value)
        except ValueError:
            raise ConfigError(f"{name}: '{item.strip()}' is not priority=hours") from None
        if key not in PRIORITIES or hours <= 0:
            raise ConfigError(f"{name}: '{item.strip()}' needs one of {', '.join(PRIORITIES)} and hours > 0")
        out[key] = hours
    if set(out) != set(PRIORITIES):
        raise ConfigError(f"{name} must give hours for each of {', '.join(PRIORITIES)}")
    return out


def _coerce(name: str, typ, raw: str):
    typ = typ if isinstance(typ, str) else typ.__name__
    try:
        if typ == "int":
            return int(raw)
        if typ == "bool":
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {typ}") from None
    return raw
