"""Templates live in the database as versions (staff edit them; the published version renders); seeds come
from `templates/`. Publishing and drafting are `engine.compose.versions`; this module reads what renders."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from engine import audit
from engine.compose.render import PARTS_BY_CHANNEL
from engine.compose.seeds import TemplateKey, load_seed_templates, locale_fallbacks
from engine.db import transaction_lock
from engine.errors import TemplateError
from engine.models import TemplateVersion
from engine.vocabulary import Channel, SituationKind, Stage, VersionStatus

DEFAULT_TEMPLATE_ROOT = Path(__file__).resolve().parents[2] / "templates"
# Names the lock seeding holds (any constant unique among the engine's locks: audit/log.py has another).
_SEEDING_LOCK_KEY = 7_114_221_002
SEED_AUTHOR = "seed"


@dataclass(frozen=True)
class ResolvedTemplate:
    sources: dict[str, str]  # part → Jinja2 source
    locale: str  # the locale actually used after fallback
    label: str  # "<situation>/<stage>.<channel>[.<locale>]@v<number>", recorded on the notice
    version_id: int | None = None  # the published version's id, recorded on the notice too


class TemplateStore:
    """Active template sources, cached in memory and reloaded when anyone saves a new version."""

    def __init__(self, *, recheck_seconds: float = 5.0) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str, str], TemplateVersion] = {}
        self._stamp: tuple[object, ...] | None = None
        self._checked = 0.0
        self._recheck = recheck_seconds

    def invalidate(self) -> None:
        with self._lock:
            self._stamp = None

    def resolve(
        self, session: Session, *, situation: str, stage: str, channel: Channel, locale: str
    ) -> ResolvedTemplate:
        self._refresh(session)
        for candidate in locale_fallbacks(locale):
            found = self._cache.get((situation, stage, channel, candidate))
            if found is not None:
                suffix = "" if candidate == "en" else f".{candidate}"
                label = f"{situation}/{stage}.{channel}{suffix}@v{found.number}"
                return ResolvedTemplate(dict(found.parts), candidate, label, found.id)
        raise TemplateError(f"no {channel} template for {situation}/{stage} (locale {locale} or English)")

    def _refresh(self, session: Session) -> None:
        # time.monotonic paces a cache check; it is not business time, so the engine clock is not used.
        now = time.monotonic()
        with self._lock:
            if self._stamp is not None and now - self._checked < self._recheck:
                return
        published = col(TemplateVersion.status) == VersionStatus.PUBLISHED
        # Any publish changes the set of published ids (a new one in, an old one out): count and sum see it.
        row = session.exec(
            select(
                func.count(col(TemplateVersion.id)),
                func.sum(TemplateVersion.id),
                func.max(TemplateVersion.published_at),
            ).where(published)
        ).one()
        stamp = tuple(row)
        with self._lock:
            self._checked = now
            if stamp == self._stamp:
                return
        rows = session.exec(select(TemplateVersion).where(published)).all()
        cache: dict[tuple[str, str, str, str], TemplateVersion] = {
            (v.situation, v.stage, v.channel, v.locale): v for v in rows
        }
        for version in rows:
            session.expunge(version)  # shared across threads and sessions: read-only from here on
        with self._lock:
            self._cache, self._stamp = cache, stamp


def published_version(
    session: Session, *, situation: str, stage: str, channel: str, locale: str
) -> TemplateVersion | None:
    return session.exec(
        select(TemplateVersion).where(
            TemplateVersion.situation == situation,
            TemplateVersion.stage == stage,
            TemplateVersion.channel == channel,
            TemplateVersion.locale == locale,
            TemplateVersion.status == VersionStatus.PUBLISHED,
        )
    ).first()


def next_number(session: Session, *, situation: str, stage: str, channel: str, locale: str) -> int:
    highest = session.exec(
        select(func.max(TemplateVersion.number)).where(
            TemplateVersion.situation == situation,
            TemplateVersion.stage == stage,
            TemplateVersion.channel == channel,
            TemplateVersion.locale == locale,
        )
    ).one()
    return (highest or 0) + 1


def seed_sets(seeds: dict[TemplateKey, str]) -> Iterator[tuple[tuple[str, str, Channel, str], dict[str, str]]]:
    """The seed files grouped into versions: (situation, stage, channel, locale) → every part the channel needs."""
    keys = sorted({(k.situation, k.stage, k.locale) for k in seeds})
    for situation, stage, locale in keys:
        for channel, parts in PARTS_BY_CHANNEL.items():
            found = {part: seeds.get(TemplateKey(situation, stage, part, locale)) for part in parts}
            if all(found.values()):
                yield (situation, stage, channel, locale), {part: text for part, text in found.items() if text}


def seed_templates(session: Session, *, now: datetime, root: Path = DEFAULT_TEMPLATE_ROOT) -> int:
    """Load seed files; a template staff never edited follows its seed, an edited one is left alone.

    Workers starting together on a fresh database would each find no templates and insert the same ones;
    the lock makes the others wait and then find them there.
    """
    transaction_lock(session, _SEEDING_LOCK_KEY)
    existing: dict[tuple[str, str, str, str], TemplateVersion] = {
        (v.situation, v.stage, v.channel, v.locale): v
        for v in session.exec(select(TemplateVersion).where(TemplateVersion.status == VersionStatus.PUBLISHED))
    }
    changed = 0
    for key, parts in seed_sets(load_seed_templates(root)):
        situation, stage, channel, locale = key
        current = existing.get(key)
        if current is not None and (current.author != SEED_AUTHOR or current.parts == parts):
            continue
        number = next_number(session, situation=situation, stage=stage, channel=channel, locale=locale)
        if current is not None:
            current.status = VersionStatus.SUPERSEDED
            session.add(current)
        session.add(
            TemplateVersion(
                situation=SituationKind(situation),
                stage=Stage(stage),
                channel=channel,
                locale=locale,
                number=number,
                status=VersionStatus.PUBLISHED,
                parts=parts,
                author=SEED_AUTHOR,
                note="seed updated" if current is not None else "seed",
                created_at=now,
                published_by=SEED_AUTHOR,
                published_at=now,
            )
        )
        changed += 1
    if changed:
        session.flush()
        audit.append(
            session,
            at=now,
            actor="system",
            action="templates.seeded",
            subject="templates",
            details={"changed": changed, "root": str(root)},
        )
    return changed
