"""Fixtures: the same suite runs on SQLite and on PostgreSQL.

Each test database is built by running the Alembic migrations (never ``create_all``). PostgreSQL
gets one database per xdist worker, emptied before each test; SQLite gets a fresh copy of a
migrated template file per test. Under ``CI=true`` a PostgreSQL that cannot be reached fails the
run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, text
from werkzeug.serving import make_server

from hub import create_app, migrate
from hub.config import Config
from hub.models import metadata

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("XIETONG_SHARED_DATA", ROOT.parent / "shared" / "data"))
PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgresql")


def pytest_collection_modifyitems(config, items):
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"third-party data not found at {SHARED_DATA}")
    for item in items:
        if "interop" in item.keywords:
            item.add_marker(skip)


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return str(exc).strip()


@pytest.fixture(scope="session")
def pg_database(worker_id):
    """A migrated PostgreSQL database of this worker's own: its SQLAlchemy URL."""
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI but unreachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable ({problem})")
    name = f"xietong_test_{worker_id}_{os.getpid()}"  # concurrent runs must not share one
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    migrate.upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def database_url(request, backend, tmp_path):
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "hub.sqlite"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _empty_pg(url)
    return url


def _empty_pg(url: str) -> None:
    tables = ", ".join(f'"{t}"' for t in metadata.tables if t != "alembic_version")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables}")


# Keys and secrets of test apps (one folder per test process, never the checkout's instance/).
TEST_INSTANCE = tempfile.mkdtemp(prefix="xietong-test-")


def make_config(database_url: str, **overrides) -> Config:
    overrides.setdefault("INSTANCE_PATH", TEST_INSTANCE)
    overrides.setdefault("PUBLIC_BASE_URL", "http://localhost")
    return Config.from_env({}, DATABASE_URL=database_url, TESTING=True, **overrides)


@pytest.fixture
def app(database_url):
    app = create_app(make_config(database_url))
    yield app
    app.extensions["xietong"].db.dispose()


@pytest.fixture
def admin_headers(app):
    """The alliance office's admin client: every scope, every institution's records."""
    from tests.principals import bearer

    return bearer(app, None, "admin", "system/*.cruds")


@pytest.fixture
def client(app, admin_headers):
    """A test client authenticated as the alliance office's admin (store and API tests); tenancy
    tests make their own callers with ``tests.principals.bearer``."""
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = admin_headers["Authorization"]
    return c


@pytest.fixture
def db(app):
    return app.extensions["xietong"].db


class LiveServer(str):
    """The base URL of a hub served on a real socket; ``.app`` is that hub."""

    app = None


@pytest.fixture
def statements(db):
    """The statements the engine sends, as they are sent."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


@pytest.fixture
def live_server(database_url):
    """A hub on a real HTTP socket on 127.0.0.1 (threaded), configured with its own address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    app = create_app(make_config(database_url, PUBLIC_BASE_URL=url))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live = LiveServer(url)
    live.app = app
    yield live
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["xietong"].db.dispose()


@pytest.fixture
def live_headers(live_server):
    """An admin bearer token for the live server's hub."""
    from tests.principals import bearer

    return bearer(live_server.app, None, "admin", "system/*.cruds", base=str(live_server))


def scalar(db, sql: str, **params):
    with db.read() as conn:
        return conn.execute(text(sql), params).scalar()


def fetch(db, sql: str, **params) -> list:
    """All rows of ``sql``."""
    with db.read() as conn:
        return conn.execute(text(sql), params).all()


def index_kinds(rows) -> set[str]:
    """The index tables (``extract.index_tables``'s names) that ``rows`` (an ``IndexRows``) has rows for."""
    return {
        kind
        for kind, present in (
            ("token", rows.tokens),
            ("string", rows.strings),
            ("date", rows.dates),
            ("ref", rows.refs),
        )
        if present
    }
