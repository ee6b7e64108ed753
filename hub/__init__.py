"""Xietong (协同): the regional medical alliance referral hub."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask

from hub.config import Config
from hub.db import Database
from hub.fhir.service import FhirService, SearchSettings


@dataclass
class Hub:
    """What a running app holds: the database and the services bound to it."""

    config: Config
    db: Database
    fhir: FhirService
    operations: dict[str, list[str]] = field(default_factory=dict)  # type -> $operations routed


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__, instance_relative_config=False)
    app.config["MAX_CONTENT_LENGTH"] = config.MAX_BODY_BYTES
    app.config["TESTING"] = config.TESTING
    app.json.ensure_ascii = False

    from hub.fhir import validation

    validation.set_canonical_base(config.CANONICAL_BASE)
    db = Database(config.DATABASE_URL, echo=config.SQL_ECHO, pool_size=config.DB_POOL_SIZE)
    fhir = FhirService(db, SearchSettings(config.SEARCH_DEFAULT_COUNT, config.SEARCH_MAX_COUNT))
    app.extensions["xietong"] = Hub(config, db, fhir)

    from hub.api import auth as auth_api
    from hub.api import errors, fhir_rest, home, login
    from hub.audit import api as audit_api
    from hub.audit.cli import register_cli as register_audit_cli
    from hub.audit.recorder import TokenAudit
    from hub.auth.clients import register_cli as register_client_cli
    from hub.cli import register_cli
    from hub.empi import cli as _empi_cli
    from hub.empi import index as _empi_index  # noqa: F401  (its Store write hook keeps the index)
    from hub.empi import operations as _empi_operations  # noqa: F401  (Patient/$match, $merge, $unlink)

    app.register_blueprint(fhir_rest.bp)
    app.register_blueprint(home.bp)
    auth_api.register(app)
    audit_api.register(app)
    register_audit_cli(app)
    # Token issues and refusals, sign-ins and sign-outs become chained AuditEvents.
    app.extensions["xietong_auth"].on_event = TokenAudit(db, config.PUBLIC_BASE_URL or None).on_event
    from hub.api import floor  # the benchmark's floor endpoint, only with XIETONG_BENCH_FLOOR=1

    if floor.enabled():
        app.register_blueprint(floor.bp)
    login.register(app)
    from hub.api import referrals as referrals_api  # the referral workflow and its $operations

    referrals_api.register(app)
    app.extensions["xietong_login"] = audit_api.LoginAudit(db, config.PUBLIC_BASE_URL or None)
    errors.register(app)
    register_cli(app)
    register_client_cli(app)
    _empi_cli.register_cli(app)
    from hub.ingest import api as ingest_api
    from hub.ingest import cli as ingest_cli

    app.register_blueprint(ingest_api.bp)
    ingest_cli.register_cli(app)
    from hub.notify.setup import register as register_notify

    register_notify(app)
    return app
