"""Staff accounts: strong passwords only, argon2 hashes, disabling ends sessions, roles in order."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engine.models import AuditEntry, StaffSession
from engine.runtime import Runtime
from engine.staff import accounts
from engine.staff.passwords import WeakPassword, check_strength, verify_password
from engine.staff.sessions import start_session
from engine.vocabulary import StaffRole

GOOD = "plum-harbour-violin-42"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pass1", "at least 12"),
        ("password1234", "common"),
        ("Password-1234!", "common"),  # the list is compared on letters and digits too
        ("aaaaaaaaaaaaaaa", "too few"),
        ("ana@example.com", "email"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, why: str) -> None:
    with pytest.raises(WeakPassword, match=why):
        check_strength(password, email="ana@example.com", name="Ana Souza")


def test_roles_are_ordered() -> None:
    assert StaffRole.ADMIN.at_least(StaffRole.APPROVER)
    assert StaffRole.APPROVER.at_least(StaffRole.EDITOR)
    assert StaffRole.EDITOR.at_least(StaffRole.VIEWER)
    assert not StaffRole.EDITOR.at_least(StaffRole.APPROVER)
    assert not StaffRole.VIEWER.at_least(StaffRole.EDITOR)


def test_create_hashes_with_argon2_and_audits(rt: Runtime) -> None:
    with rt.unit_of_work() as session:
        user = accounts.create_user(
            session,
            email=" Ana@Example.com ",
            role=StaffRole.EDITOR,
            password=GOOD,
            actor="system:cli",
            at=rt.clock.now(),
        )
    assert user.email == "ana@example.com"
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert GOOD not in user.password_hash
    assert verify_password(user.password_hash, GOOD)
    assert not verify_password(user.password_hash, GOOD + "x")
    with rt.unit_of_work() as session:
        with pytest.raises(accounts.StaffError, match="already"):
            accounts.create_user(
                session, email="ana@example.com", role=StaffRole.VIEWER, password=GOOD, actor="x", at=rt.clock.now()
            )
        entries = session.exec(select(AuditEntry).where(AuditEntry.action == "staff.created")).all()
    assert [e.details["role"] for e in entries] == ["editor"]
    assert all(GOOD not in str(e.details) for e in entries)


def test_disabling_ends_the_sessions(rt: Runtime) -> None:
    with rt.unit_of_work() as session:
        user = accounts.create_user(
            session, email="bo@example.com", role=StaffRole.ADMIN, password=GOOD, actor="x", at=rt.clock.now()
        )
        start_session(session, user, secret_key="k", at=rt.clock.now(), address="127.0.0.1")
    with rt.unit_of_work() as session:
        accounts.disable_user(session, "BO@example.com", actor="system:cli", at=rt.clock.now())
    with rt.unit_of_work() as session:
        assert session.exec(select(StaffSession)).all() == []
        assert accounts.find_user(session, "bo@example.com").active is False  # type: ignore[union-attr]
        assert not accounts.any_admin(session)
