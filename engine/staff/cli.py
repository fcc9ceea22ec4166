"""`forewarn users …`: staff accounts from the command line (DESIGN §5). Acts as "system" in the audit log."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlmodel import Session

from engine.config import get_settings
from engine.runtime import Runtime
from engine.staff import accounts
from engine.staff.passwords import WeakPassword
from engine.vocabulary import StaffRole

users_app = typer.Typer(help="Staff accounts for the console (/ops) and the API.", no_args_is_help=True)
CLI_ACTOR = "system:cli"


def _runtime() -> Runtime:
    from engine.db.migrations import upgrade
    from engine.wiring import build_runtime

    settings = get_settings()
    if settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)  # the embedded default migrates itself, as `serve` does
    return build_runtime(settings, with_channels=False)


@contextmanager
def _unit_of_work() -> Iterator[tuple[Runtime, Session]]:
    """One transaction on a runtime of its own; a refusal (no such account, a weak password) ends the
    command with its reason and exit status 1."""
    rt = _runtime()
    try:
        with rt.unit_of_work() as session:
            yield rt, session
    except (accounts.StaffError, WeakPassword) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        rt.close()


def _read_password() -> str:
    """From a prompt (typed twice, hidden) on a terminal; else the first line of standard input."""
    if sys.stdin.isatty():
        value: str = typer.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True)
        return value
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("create")
def create(
    email: Annotated[str, typer.Option(help="the sign-in email")],
    role: Annotated[StaffRole, typer.Option(help="viewer < editor < approver < admin")],
    name: Annotated[str, typer.Option(help="the name colleagues know them by")] = "",
    phone: Annotated[str | None, typer.Option(help="E.164 number for test texts")] = None,
) -> None:
    """Create a staff account; the password comes from a prompt, or from stdin when it is not a terminal."""
    password = _read_password()
    with _unit_of_work() as (rt, session):
        user = accounts.create_user(
            session,
            email=email,
            role=role,
            password=password,
            name=name,
            phone=phone,
            actor=CLI_ACTOR,
            at=rt.clock.now(),
        )
    typer.echo(f"created {user.email} ({user.role})")


@users_app.command("list")
def list_users() -> None:
    """Every staff account: email, role, whether it is active, second factor, last sign-in."""
    with _unit_of_work() as (_, session):
        users = accounts.list_users(session)
    if not users:
        typer.echo("no staff accounts yet: forewarn users create --email E --role admin")
        return
    for user in users:
        state = "active" if user.active else "disabled"
        second = "2fa" if user.totp_secret else "-"
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "never signed in"
        typer.echo(f"{user.email:40} {user.role:9} {state:9} {second:4} {last}  {user.name}")


@users_app.command("disable")
def disable(email: Annotated[str, typer.Option(help="the account's email")]) -> None:
    """Disable an account: it cannot sign in, its sessions end and its API tokens stop working."""
    with _unit_of_work() as (rt, session):
        user = accounts.disable_user(session, email, actor=CLI_ACTOR, at=rt.clock.now())
    typer.echo(f"disabled {user.email}")


@users_app.command("totp")
def totp(email: Annotated[str, typer.Option(help="the account's email")]) -> None:
    """Give an account a (new) second factor and print the otpauth:// link for an authenticator app."""
    with _unit_of_work() as (rt, session):
        user = accounts.find_user(session, email)
        if user is None:
            raise accounts.StaffError(f"no staff account for {email.strip().lower()}")
        secret = accounts.enable_totp(session, user, actor=CLI_ACTOR, at=rt.clock.now())
        uri = accounts.totp_uri(user, secret, rt.settings.brand_name)
    typer.echo(f"secret: {secret}\n{uri}\nSign-in now asks {user.email} for the app's 6-digit code.")


def demo_admin(rt: Runtime, *, email: str = "admin@forewarn.local") -> tuple[str, str] | None:
    """Create a demo admin with a generated password when there is no admin yet; (email, password) or None."""
    password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    with rt.unit_of_work() as session:
        if accounts.any_admin(session):
            return None
        accounts.create_user(
            session,
            email=email,
            role=StaffRole.ADMIN,
            password=password,
            name="Demo admin",
            actor=CLI_ACTOR,
            at=rt.clock.now(),
        )
    return email, password
