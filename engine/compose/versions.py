"""Template versions: save a draft, publish, approve, roll back, compare. The caller commits.

- A draft is saved only when every sample that fits its situation renders (`preview.validate`): a
  variable the situation does not provide is refused with the reason, before it could break a send.
  Its checklist findings (the default sample) are stored with it.
- Publishing makes a version the one that renders; the one before is superseded. Drafts never send.
- With approval on (FOREWARN_TEMPLATE_APPROVAL=1), a version is published only when an approver who is
  not its author approves it; approving publishes.
- Rolling back copies an older version into a new version and publishes that (or, with approval on,
  leaves it as a draft for another approver): history only grows.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from engine import audit
from engine.compose import fixtures
from engine.compose.contract import Problem
from engine.compose.preview import preview, validate
from engine.compose.render import PARTS_BY_CHANNEL
from engine.compose.seeds import normalize_locale
from engine.compose.store import next_number, published_version
from engine.detection.rules import TEMPLATE_STAGES
from engine.models import TemplateVersion
from engine.vocabulary import Channel, SituationKind, Stage, VersionStatus

if TYPE_CHECKING:
    from engine.runtime import Runtime
    from engine.staff.accounts import Principal


class VersionError(ValueError):
    """A version operation refused, with the reason to show."""


class NeedsAnotherApprover(VersionError):
    pass


@dataclass(frozen=True)
class TemplateKey:
    situation: SituationKind
    stage: Stage
    channel: Channel
    locale: str

    def label(self) -> str:
        return f"{self.situation}/{self.stage}/{self.channel}/{self.locale}"


@dataclass(frozen=True)
class Saved:
    version: TemplateVersion | None  # None when refused
    errors: list[Problem]


def resolve_key(situation: str, stage: str, channel: str, locale: str) -> TemplateKey:
    """The key from a URL's words, or VersionError naming what is not known (kinds and stages from the rules)."""
    kind = next((k for k in TEMPLATE_STAGES if k == situation), None)
    if kind is None:
        raise VersionError(f"unknown situation {situation!r}; known: {', '.join(TEMPLATE_STAGES)}")
    step = next((s for s in TEMPLATE_STAGES[kind] if s == stage), None)
    if step is None:
        raise VersionError(f"{kind} has no stage {stage!r}; it has {', '.join(TEMPLATE_STAGES[kind])}")
    medium = next((c for c in Channel if c == channel), None)
    if medium is None:
        raise VersionError(f"unknown channel {channel!r}; known: {', '.join(Channel)}")
    return TemplateKey(kind, step, medium, normalize_locale(locale))


def key_of(version: TemplateVersion) -> TemplateKey:
    return TemplateKey(version.situation, version.stage, version.channel, version.locale)


def history(session: Session, key: TemplateKey) -> list[TemplateVersion]:
    """Every version of these words, newest first."""
    return list(
        session.exec(
            select(TemplateVersion)
            .where(
                TemplateVersion.situation == key.situation,
                TemplateVersion.stage == key.stage,
                TemplateVersion.channel == key.channel,
                TemplateVersion.locale == key.locale,
            )
            .order_by(col(TemplateVersion.number).desc())
        ).all()
    )


def get_version(session: Session, version_id: int) -> TemplateVersion:
    version = session.get(TemplateVersion, version_id)
    if version is None:
        raise LookupError(f"no template version {version_id}")
    return version


def findings_for(key: TemplateKey, parts: dict[str, str]) -> list[dict[str, Any]]:
    sample = fixtures.default_fixture(key.situation, key.locale)
    context = fixtures.fixture_context(sample, situation=key.situation, stage=key.stage, locale=key.locale)
    result = preview(
        parts, situation=key.situation, stage=key.stage, channel=key.channel, locale=key.locale, context=context
    )
    return [{**finding.as_dict(), "sample": sample} for finding in result.findings]


def save_draft(
    session: Session,
    key: TemplateKey,
    parts: dict[str, str],
    *,
    author: str,
    at: datetime,
    based_on: int | None = None,
    note: str | None = None,
    address: str | None = None,
) -> Saved:
    parts = {part: parts.get(part) or "" for part in PARTS_BY_CHANNEL[key.channel]}
    errors = validate(parts, situation=key.situation, stage=key.stage, channel=key.channel, locale=key.locale)
    if errors:
        return Saved(None, errors)
    version = TemplateVersion(
        situation=key.situation,
        stage=key.stage,
        channel=key.channel,
        locale=key.locale,
        number=next_number(session, situation=key.situation, stage=key.stage, channel=key.channel, locale=key.locale),
        status=VersionStatus.DRAFT,
        parts=parts,
        author=author,
        note=note,
        based_on=based_on,
        findings=findings_for(key, parts),
        created_at=at,
    )
    session.add(version)
    session.flush()
    _audit(session, version, "template.drafted", actor=author, at=at, address=address)
    return Saved(version, [])


def publish(
    session: Session, version_id: int, *, actor: str, at: datetime, approval_required: bool, address: str | None = None
) -> TemplateVersion:
    """Publish a draft. With approval required, publishing is approving: not by the draft's author."""
    version = get_version(session, version_id)
    if version.status != VersionStatus.DRAFT:
        raise VersionError(f"version {version.number} is {version.status}: roll back to it to publish it again")
    if approval_required and version.approved_by is None:
        if version.author == actor:
            raise NeedsAnotherApprover(
                "template approval is on (FOREWARN_TEMPLATE_APPROVAL=1): an approver who is not this draft's author "
                "must approve it"
            )
        version.approved_by, version.approved_at = actor, at
        _audit(session, version, "template.approved", actor=actor, at=at, address=address)
    current = published_version(
        session, situation=version.situation, stage=version.stage, channel=version.channel, locale=version.locale
    )
    if current is not None:
        current.status = VersionStatus.SUPERSEDED
        session.add(current)
        session.flush()
    version.status, version.published_by, version.published_at = VersionStatus.PUBLISHED, actor, at
    session.add(version)
    _audit(
        session,
        version,
        "template.published",
        actor=actor,
        at=at,
        address=address,
        replaced=current.id if current else None,
    )
    return version


def approve(
    session: Session, version_id: int, *, actor: str, at: datetime, address: str | None = None
) -> TemplateVersion:
    """An approver who is not the author approves a draft, which publishes it."""
    version = get_version(session, version_id)
    if version.author == actor:
        raise NeedsAnotherApprover("a draft is approved by someone other than its author")
    return publish(session, version_id, actor=actor, at=at, approval_required=True, address=address)


def rollback(
    session: Session, version_id: int, *, actor: str, at: datetime, approval_required: bool, address: str | None = None
) -> TemplateVersion:
    """Publish an older version's words again, as a new version."""
    old = get_version(session, version_id)
    if old.status == VersionStatus.PUBLISHED:
        raise VersionError(f"version {old.number} is already the published one")
    saved = save_draft(
        session, key_of(old), dict(old.parts), author=actor, at=at, based_on=old.id, note=f"rollback to v{old.number}"
    )
    if saved.version is None:
        raise VersionError("that version no longer renders: " + "; ".join(p.message for p in saved.errors))
    _audit(session, saved.version, "template.rolled_back", actor=actor, at=at, address=address, to=old.id)
    if approval_required:
        return saved.version  # a draft now, for another approver
    return publish(session, saved.version.id or 0, actor=actor, at=at, approval_required=False, address=address)


ACTIONS = ("publish", "approve", "rollback")


def decide(
    session: Session,
    action: str,
    version_id: int,
    *,
    actor: str,
    at: datetime,
    approval_required: bool,
    address: str | None = None,
) -> TemplateVersion:
    """One of ACTIONS on a version, as the console and the API both offer them."""
    if action == "approve":
        return approve(session, version_id, actor=actor, at=at, address=address)
    if action == "rollback":
        return rollback(session, version_id, actor=actor, at=at, approval_required=approval_required, address=address)
    if action == "publish":
        return publish(session, version_id, actor=actor, at=at, approval_required=approval_required, address=address)
    raise VersionError(f"unknown action {action!r}")


def decide_now(rt: Runtime, action: str, version_id: int, who: Principal) -> TemplateVersion:
    """`decide` in its own unit of work, for the console and the API alike, then the template cache
    dropped: the next notice rendered in this process uses the decision at once (others within seconds)."""
    with rt.unit_of_work() as session:
        version = decide(
            session,
            action,
            version_id,
            actor=who.actor,
            at=rt.clock.now(),
            approval_required=rt.settings.template_approval,
            address=who.address,
        )
    rt.templates.invalidate()
    return version


def _audit(
    session: Session,
    version: TemplateVersion,
    action: str,
    *,
    actor: str,
    at: datetime,
    address: str | None = None,
    **extra: Any,
) -> None:
    audit.append(
        session,
        at=at,
        actor=actor,
        action=action,
        subject=f"template_version:{version.id}",
        details={
            "template": key_of(version).label(),
            "number": version.number,
            "address": address,
            **extra,
        },
    )


def diff(a: TemplateVersion, b: TemplateVersion) -> dict[str, list[dict[str, Any]]]:
    """Side by side, part by part: rows of (left line, right line, kind), kind equal/replace/delete/insert."""
    out: dict[str, list[dict[str, Any]]] = {}
    for part in sorted(set(a.parts) | set(b.parts)):
        left, right = (a.parts.get(part) or "").splitlines(), (b.parts.get(part) or "").splitlines()
        rows: list[dict[str, Any]] = []
        matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
        for kind, i1, i2, j1, j2 in matcher.get_opcodes():
            for offset in range(max(i2 - i1, j2 - j1)):
                li, ri = i1 + offset, j1 + offset
                rows.append(
                    {
                        "kind": kind,
                        "left_line": li + 1 if li < i2 else None,
                        "left": left[li] if li < i2 else None,
                        "right_line": ri + 1 if ri < j2 else None,
                        "right": right[ri] if ri < j2 else None,
                    }
                )
        out[part] = rows
    return out


def describe(version: TemplateVersion, *, with_parts: bool = True) -> dict[str, Any]:
    from engine.clock import format_instant

    described: dict[str, Any] = {
        "version_id": version.id,
        "number": version.number,
        "situation": version.situation,
        "stage": version.stage,
        "channel": version.channel,
        "locale": version.locale,
        "status": version.status,
        "author": version.author,
        "created_at": format_instant(version.created_at),
        "note": version.note,
        "based_on": version.based_on,
        "approved_by": version.approved_by,
        "published_by": version.published_by,
        "published_at": format_instant(version.published_at) if version.published_at else None,
        "findings": version.findings,
    }
    if with_parts:
        described["parts"] = version.parts
    return described
