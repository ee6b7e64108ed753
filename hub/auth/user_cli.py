"""``flask --app wsgi user add|disable|enable|set-password|list``: people's accounts."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from hub.auth import users
from hub.auth.principal import USER_ROLES
from hub.errors import HubError


def _db():
    return current_app.extensions["xietong"].db


def _run(fn, *args, write: bool = True):
    """Run ``fn(conn, *args)`` in one transaction; failures become one-line errors (exit 1)."""
    db = _db()
    try:
        with db.write() if write else db.read() as conn:
            return fn(conn, *args)
    except HubError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise click.ClickException(
            f"database error: {first} (is the database reachable and upgraded? `flask db upgrade`)"
        ) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    return click.prompt("密码 Password", hide_input=True, confirmation_prompt="再次输入 Repeat password")


def _when(dt: datetime | None) -> str:
    return dt.astimezone(users.CHINA_TZ).strftime("%Y-%m-%d %H:%M") if dt else "-"


def register_cli(app: Flask) -> None:
    user_cli = AppGroup("user", help="People's accounts for the web UI (用户账户).")

    @user_cli.command("add")
    @click.option("--username", required=True, help="Sign-in name (a-z, 0-9, . _ @ -).")
    @click.option("--name", "display_name", required=True, help='Display name, e.g. "张医生".')
    @click.option("--role", required=True, help=f"One of: {', '.join(USER_ROLES)}.")
    @click.option("--organization", default=None, help="The Organization id (not needed for regulator).")
    @click.option("--practitioner-role", default=None, help="The PractitionerRole id the person acts as.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def add(username, display_name, role, organization, practitioner_role, password_stdin):
        """Create an account (the password is asked for twice, hidden)."""
        if role not in USER_ROLES:
            raise click.ClickException(f"unknown role {role!r}; one of: {', '.join(USER_ROLES)}")
        # Check what can be checked before asking for a password.
        try:
            users.check_username(username)
        except HubError as exc:
            raise click.ClickException(str(exc)) from None
        password = _read_password(password_stdin)
        user = _run(
            lambda conn: users.add_user(
                conn,
                username,
                display_name,
                password,
                role,
                organization,
                practitioner_role,
                now=datetime.now(UTC),
            )
        )
        org = user.organization_id or "-"
        click.echo(f"user {user.username} added ({user.role}, organization {org})")

    @user_cli.command("disable")
    @click.argument("username")
    def disable(username):
        """Disable an account (its sessions end at their next request)."""
        user = _run(users.disable_user, username)
        click.echo(f"user {user.username} disabled")

    @user_cli.command("enable")
    @click.argument("username")
    def enable(username):
        """Enable an account and clear its lock."""
        user = _run(users.enable_user, username)
        click.echo(f"user {user.username} enabled (lock cleared)")

    @user_cli.command("set-password")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def set_password(username, password_stdin):
        """Set a new password (ends the user's other sessions; does not clear a lock)."""
        if _run(users.get_user, username, write=False) is None:
            raise click.ClickException(f"there is no user {users.normalize_username(username)!r}")
        password = _read_password(password_stdin)
        user = _run(users.set_password, username, password)
        click.echo(f"password of {user.username} changed")

    @user_cli.command("list")
    def list_():
        """List the accounts."""
        rows = _run(users.list_users, write=False)
        if not rows:
            click.echo("no users")
            return
        now = datetime.now(UTC)
        header = ("username", "role", "organization", "state", "last login")
        click.echo("{:<24} {:<18} {:<24} {:<24} {:<16} name".format(*header))
        for u in rows:
            if not u.enabled:
                state = "disabled"
            elif u.is_locked(now):
                state = f"locked until {_when(u.locked_until)[11:]}"
            else:
                state = "active"
            click.echo(
                f"{u.username:<24} {u.role:<18} {u.organization_id or '-':<24} {state:<24} "
                f"{_when(u.last_login_at):<16} {u.display_name}"
            )

    app.cli.add_command(user_cli)
