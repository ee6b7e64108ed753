"""People sign in to the web UI: ``/login``, ``/logout``, ``/me``; the session and its CSRF token.

Sessions are Flask's signed cookies (``itsdangerous``), keyed by ``INSTANCE_PATH/secret_key``
(created on first use, mode 0600, under a file lock so that every worker reads the same key).
The cookie is HttpOnly, SameSite=Lax, Secure whenever the request came over https, and lapses after
``SESSION_IDLE`` without a request (its signature carries the time it was last re-issued, and
every request re-issues it). It holds the user id, user name, role, institution, a fingerprint of
the password hash (so a password change ends the other sessions), a fresh session id and the CSRF
token. Every request re-reads the account (one primary-key query): a user disabled or locked in
the meantime is signed out at once.

CSRF: a random token per session, sent back in every form post as ``csrf_token`` (or in the
``X-CSRF-Token`` header) and compared with ``hmac.compare_digest``.

Sign-ins, failures and sign-outs are handed to ``app.extensions["xietong_login"].on_event(kind,
detail)`` inside the transaction that records them (``detail["conn"]``), so that an audit hook can
write its event atomically with the change; an exception from the hook aborts the request.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import hmac
import logging
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface

from hub.auth import users
from hub.auth.principal import USER_ROLES, Principal

log = logging.getLogger(__name__)

bp = Blueprint("login", __name__)

SESSION_IDLE = timedelta(hours=8)
COOKIE_NAME = "xietong_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SECRET_FILE = "secret_key"

# ----- the secret key -----


def load_secret_key(instance_path: str | os.PathLike) -> str:
    """The session signing key in ``instance_path/secret_key``, created (0600) if missing.

    Creation happens under an exclusive ``flock`` on ``secret_key.lock``, so that workers starting
    together agree on one key.
    """
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / SECRET_FILE
    with open(folder / (SECRET_FILE + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists():
                tmp = folder / f".{SECRET_FILE}.{os.getpid()}.tmp"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
                log.info("created the session secret key at %s", path)
            key = path.read_text().strip()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("%s was readable by others; its mode is now 0600", path)
    if len(key) < 32:
        raise RuntimeError(
            f"the session secret key in {path} is too short ({len(key)} characters); "
            "delete the file to have a new one made (this signs everyone out)"
        )
    return key


class HubSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is Secure whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if has_request_context() and request.is_secure:
            return True
        return bool(app.config["SESSION_COOKIE_SECURE"])


# ----- login events (the audit trail plugs in here) -----


class LoginEvents:
    """Default hook: does nothing. Kinds: login-succeeded, login-failed, logout."""

    def on_event(self, kind: str, detail: dict) -> None:
        return None


def _event(kind: str, conn, **detail) -> None:
    hook = current_app.extensions.get("xietong_login")
    if hook is None:
        return
    hook.on_event(
        kind,
        {
            **detail,
            "at": datetime.now(UTC),
            "remote_addr": request.remote_addr,
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "conn": conn,
        },
    )


# ----- registering -----


def register(app: Flask) -> None:
    """Register the blueprint, the session key and cookie settings, and the default hook (idempotent)."""
    if "login" in app.blueprints:
        return
    if not app.secret_key:
        app.secret_key = load_secret_key(app.extensions["xietong"].config.INSTANCE_PATH)
    app.session_interface = HubSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_IDLE,
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    app.extensions.setdefault("xietong_login", LoginEvents())
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_blueprint(bp)


# ----- CSRF -----


def csrf_token() -> str:
    """This session's CSRF token (made on first use); put it in every form as ``csrf_token``."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
        session.permanent = True
    return token


def csrf_valid() -> bool:
    """Whether the request carries this session's CSRF token (form field or header)."""
    expected = session.get("csrf")
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def _csrf_failed():
    if _wants_json():
        return _json_error(
            400, "csrf", "安全令牌缺失或无效 · the CSRF token is missing or wrong; reload the page and retry"
        )
    return _page(
        MESSAGE_PAGE,
        400,
        title="表单已失效 Form expired",
        zh="表单的安全令牌缺失或无效，可能是页面停留过久。请重新打开登录页再试。",
        en="The form's security token (CSRF token) is missing or wrong — perhaps the page was open "
        "too long. Reload the sign-in page and try again.",
    )


# ----- the current user -----

_NOBODY = object()


def _fingerprint(password_hash: str) -> str:
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def current_user_principal() -> Principal | None:
    """The signed-in person of this request, or None.

    Re-reads the account: a session whose user was deleted, disabled, locked or given a new
    password meanwhile is ended.
    """
    if not has_request_context():
        return None
    cached = g.get("_xietong_user", _NOBODY)
    if cached is not _NOBODY:
        return cached
    principal = _load_user()
    g._xietong_user = principal
    return principal


def _load_user() -> Principal | None:
    uid = session.get("uid")
    if uid is None:
        return None
    db = current_app.extensions["xietong"].db
    with db.read() as conn:
        user = users.get_user_by_id(conn, uid)
    if (
        user is None
        or not user.enabled
        or user.is_locked(datetime.now(UTC))
        or user.username != session.get("u")
        or not hmac.compare_digest(session.get("pw", ""), _fingerprint(user.password_hash))
    ):
        session.clear()
        return None
    return users.principal_for(user)


def require_role(*roles: str):
    """View decorator: a signed-in user with one of ``roles``; else 401 (or the sign-in page) / 403.

    The principal is left in ``flask.g.principal``.
    """
    unknown = [r for r in roles if r not in USER_ROLES]
    if not roles or unknown:
        raise ValueError(f"require_role needs roles among {USER_ROLES}, got {roles}")

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            principal = current_user_principal()
            if principal is None:
                if _wants_json() or request.method not in ("GET", "HEAD"):
                    return _json_error(401, "login", "未登录 · not signed in")
                return redirect(url_for("login.login_form", next=request.full_path.rstrip("?")), 303)
            if principal.role not in roles:
                return _forbidden(roles, principal)
            g.principal = principal
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _forbidden(roles, principal: Principal):
    zh = "、".join(users.ROLE_LABELS[r].split(" ", 1)[0] for r in roles)
    en = ", ".join(roles)
    mine = users.ROLE_LABELS.get(principal.role, principal.role)
    if _wants_json():
        return _json_error(
            403,
            "forbidden",
            f"需要角色 {zh} · this needs the role {en}; you are signed in as {principal.role}",
            needed_roles=list(roles),
        )
    return _page(
        MESSAGE_PAGE,
        403,
        title="无权访问 Forbidden",
        zh=f"此页面需要以下角色之一：{zh}。您当前的角色是 {mine}。",
        en=f"This page needs one of the roles: {en}. You are signed in as {principal.role}.",
    )


# ----- helpers -----


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or request.is_json


def _json_error(status: int, code: str, message: str, **extra):
    resp = jsonify({"error": code, "message": message, **extra})
    resp.status_code = status
    return _harden(resp)


def _harden(resp):
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )
    return resp


def _page(template: str, status: int = 200, **ctx):
    resp = current_app.make_response((render_template_string(template, **ctx), status))
    return _harden(resp)


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site (``/...``), else ``/``."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return "/"
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    if not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    if parts.path in ("/login", "/logout"):
        return "/"
    return target


# ----- pages -----

STYLE = """<style>body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:30rem;margin:3rem auto;
padding:0 1rem;color:#222}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]
{width:100%;padding:.4rem;box-sizing:border-box;font-size:1rem}button{margin-top:1rem;padding:.4rem 1.2rem;
font-size:1rem}.error{background:#fdecea;border:1px solid #f5c2c0;padding:.6rem;border-radius:4px}
.en{color:#555}.note{color:#555;font-size:.9rem}</style>"""

LOGIN_PAGE = (
    """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>登录 Sign in · 协同 Xietong</title>"""
    + STYLE
    + """</head><body>
<h1>登录 <span class="en">Sign in</span></h1>
<p>协同 Xietong · 医联体转诊平台 <span class="en">Regional medical alliance referral hub</span></p>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
{% if signed_in %}<p class="note">当前已登录：{{ signed_in.name }}（{{ signed_in.id }}）
<span class="en">Signed in as {{ signed_in.id }}.</span></p>
<form method="post" action="{{ url_for('login.logout') }}">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<button type="submit">退出登录 Sign out</button></form>{% endif %}
<form method="post" action="{{ url_for('login.login_submit') }}" autocomplete="on">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ next }}">
<label for="username">用户名 <span class="en">User name</span></label>
<input type="text" id="username" name="username" value="{{ username }}" required maxlength="64"
 autocomplete="username" autocapitalize="none" spellcheck="false" autofocus>
<label for="password">密码 <span class="en">Password</span></label>
<input type="password" id="password" name="password" required autocomplete="current-password">
<button type="submit">登录 Sign in</button>
</form>
<p class="note">连续输错密码 {{ max_failures }} 次将锁定账户 {{ lock_minutes }} 分钟。
<span class="en">{{ max_failures }} wrong passwords in a row lock the account for {{ lock_minutes }}
minutes.</span></p>
</body></html>"""
)

MESSAGE_PAGE = (
    """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }} · 协同 Xietong</title>"""
    + STYLE
    + """</head><body><h1>{{ title }}</h1>
<p class="error">{{ zh }}<br><span class="en">{{ en }}</span></p>
<p><a href="{{ url_for('login.login_form') }}">返回登录页 Back to sign-in</a> ·
<a href="/">首页 Home</a></p></body></html>"""
)


def _login_page(status: int = 200, error: str = "", username: str = "", next_url: str = "/"):
    cfg = current_app.extensions["xietong"].config
    return _page(
        LOGIN_PAGE,
        status,
        error=error,
        username=username,
        next=safe_next(next_url),
        csrf=csrf_token(),
        signed_in=current_user_principal(),
        max_failures=cfg.LOGIN_MAX_FAILURES,
        lock_minutes=max(1, cfg.LOGIN_LOCKOUT_SECONDS // 60),
    )


# ----- views -----


@bp.get("/login")
def login_form():
    return _login_page(next_url=request.args.get("next"))


@bp.post("/login")
def login_submit():
    if not csrf_valid():
        return _csrf_failed()
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    next_url = request.form.get("next") or request.args.get("next")
    if not username or not password:
        return _login_page(400, "请输入用户名和密码 · Enter your user name and password.", username, next_url)
    hub = current_app.extensions["xietong"]
    cfg = hub.config
    now = datetime.now(UTC)
    with hub.db.write() as conn:
        result = users.authenticate(
            conn, username, password, now, cfg.LOGIN_MAX_FAILURES, cfg.LOGIN_LOCKOUT_SECONDS
        )
        user = result.user
        detail = {
            "username": users.normalize_username(username)[:64],
            "user_id": user.id if user else None,
            "organization": user.organization_id if user else None,
            "role": user.role if user else None,
            "reason": result.reason,
        }
        _event("login-succeeded" if result.ok else "login-failed", conn, **detail)
    if not result.ok:
        return _login_page(401, result.message, username, next_url)
    # A fresh session: nothing from before the sign-in (a planted cookie included) survives.
    session.clear()
    session.permanent = True
    session.update(
        uid=user.id,
        u=user.username,
        role=user.role,
        org=user.organization_id,
        pw=_fingerprint(user.password_hash),
        sid=secrets.token_urlsafe(18),
        csrf=secrets.token_urlsafe(32),
        at=int(now.timestamp()),
    )
    g.pop("_xietong_user", None)
    return _harden(redirect(safe_next(next_url), 303))


@bp.post("/logout")
def logout():
    if not csrf_valid():
        return _csrf_failed()
    principal = current_user_principal()
    if principal is not None:
        with current_app.extensions["xietong"].db.write() as conn:
            _event(
                "logout",
                conn,
                username=principal.id,
                user_id=principal.extra.get("user_id"),
                organization=principal.organization,
                role=principal.role,
                reason="ok",
            )
    session.clear()
    g.pop("_xietong_user", None)
    return _harden(redirect(url_for("login.login_form"), 303))


@bp.get("/me")
def me():
    principal = current_user_principal()
    if principal is None:
        return _json_error(401, "login", "未登录 · not signed in")
    return _harden(
        jsonify(
            {
                "username": principal.id,
                "name": principal.name,
                "role": principal.role,
                "role_label": users.ROLE_LABELS.get(principal.role),
                "organization": principal.organization,
                "practitioner_role": principal.extra.get("practitioner_role"),
                "scopes": list(principal.scopes),
                "csrf_token": csrf_token(),
            }
        )
    )
