"""Versions: approval by someone else, rollback as a new version, findings stored, seeds left alone once edited."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engine.compose import versions
from engine.compose.store import seed_templates
from engine.models import AuditEntry
from engine.runtime import Runtime
from engine.vocabulary import VersionStatus

KEY = versions.resolve_key("shipment.delayed", "initial", "sms", "en")


def published(rt: Runtime) -> versions.TemplateVersion:
    with rt.unit_of_work() as session:
        return next(v for v in versions.history(session, KEY) if v.status == VersionStatus.PUBLISHED)


def draft(rt: Runtime, author: str, sms: str) -> int:
    with rt.unit_of_work() as session:
        saved = versions.save_draft(session, KEY, {"sms": sms}, author=author, at=rt.clock.now())
    assert saved.version is not None, saved.errors
    return saved.version.id or 0


def test_with_approval_the_author_cannot_publish_alone(rt: Runtime) -> None:
    version_id = draft(
        rt, "staff:ana@example.com", "{{ brand.name }}: your {{ order.items }} is late. {{ links.tracking }}"
    )
    with rt.unit_of_work() as session, pytest.raises(versions.NeedsAnotherApprover):
        versions.publish(session, version_id, actor="staff:ana@example.com", at=rt.clock.now(), approval_required=True)
    with rt.unit_of_work() as session, pytest.raises(versions.NeedsAnotherApprover):
        versions.approve(session, version_id, actor="staff:ana@example.com", at=rt.clock.now())
    with rt.unit_of_work() as session:
        done = versions.approve(session, version_id, actor="staff:bo@example.com", at=rt.clock.now())
    assert (done.status, done.approved_by, done.published_by) == (
        "published",
        "staff:bo@example.com",
        "staff:bo@example.com",
    )
    with rt.unit_of_work() as session:
        actions = [e.action for e in session.exec(select(AuditEntry)) if e.action.startswith("template.")]
    assert actions == ["template.drafted", "template.approved", "template.published"]


def test_rollback_publishes_the_old_words_as_a_new_version(rt: Runtime) -> None:
    seed = published(rt)
    version_id = draft(rt, "staff:ana@example.com", "{{ brand.name }}: late again. {{ links.tracking }}")
    with rt.unit_of_work() as session:
        versions.publish(session, version_id, actor="staff:bo@example.com", at=rt.clock.now(), approval_required=False)
    with rt.unit_of_work() as session:
        back = versions.rollback(
            session, seed.id or 0, actor="staff:bo@example.com", at=rt.clock.now(), approval_required=False
        )
    assert back.parts == seed.parts and back.number == 3 and back.based_on == seed.id
    with rt.unit_of_work() as session:
        statuses = [(v.number, v.status) for v in versions.history(session, KEY)]
    assert statuses == [(3, "published"), (2, "superseded"), (1, "superseded")]


def test_findings_are_stored_with_the_version(rt: Runtime) -> None:
    version_id = draft(
        rt, "staff:ana@example.com", "{{ brand.name }}: As per our policy your parcel is late! {{ links.tracking }}"
    )
    with rt.unit_of_work() as session:
        stored = versions.get_version(session, version_id).findings
    warned = {f["check"]: f for f in stored if f["status"] == "warn"}
    assert warned["trust-words"]["quote"] == "As per our policy"
    assert "exclamations" in warned and "stop-line" in warned


def test_an_edited_template_no_longer_follows_its_seed(rt: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    version_id = draft(rt, "staff:ana@example.com", "{{ brand.name }}: edited. {{ links.tracking }}")
    with rt.unit_of_work() as session:
        versions.publish(session, version_id, actor="staff:bo@example.com", at=rt.clock.now(), approval_required=False)
    with rt.unit_of_work() as session:
        seed_templates(session, now=rt.clock.now())
    assert published(rt).id == version_id
