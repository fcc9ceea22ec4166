"""Templates live in the database (staff edit them, every edit a version); seeds come from `templates/`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from engine import audit
from engine.compose.render import PARTS_BY_CHANNEL
from engine.compose.seeds import load_seed_templates, locale_fallbacks
from engine.db import transaction_lock
from engine.errors import TemplateError
from engine.models import MessageTemplate, TemplateVersion
from engine.vocabulary import Channel

DEFAULT_TEMPLATE_ROOT = Path(__file__).resolve().parents[2] / "templates"
# Names the lock seeding holds (any constant unique among the engine's locks: audit/log.py has another).
_SEEDING_LOCK_KEY = 7_114_221_002


@dataclass(frozen=True)
class ResolvedTemplate:
    sources: dict[str, str]  # part → Jinja2 source
    locale: str  # the locale actually used after fallback
    label: str  # "<situation>/<stage>.<channel>[.<locale>]@v<versions>", recorded on the notice


class TemplateStore:
    """Active template sources, cached in memory and reloaded when anyone saves a new version."""

    def __init__(self, *, recheck_seconds: float = 5.0) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str, str], tuple[str, int]] = {}
        self._stamp: tuple[object, int] | None = None
        self._checked = 0.0
        self._recheck = recheck_seconds

    def invalidate(self) -> None:
        with self._lock:
            self._stamp = None

    def resolve(
        self, session: Session, *, situation: str, stage: str, channel: Channel, locale: str
    ) -> ResolvedTemplate:
        self._refresh(session)
        parts = PARTS_BY_CHANNEL[channel]
        for candidate in locale_fallbacks(locale):
            found = [self._cache.get((situation, stage, part, candidate)) for part in parts]
            if all(found):
                sources = {part: item[0] for part, item in zip(parts, found, strict=True) if item}
                versions = ",".join(str(item[1]) for item in found if item)
                suffix = "" if candidate == "en" else f".{candidate}"
                return ResolvedTemplate(sources, candidate, f"{situation}/{stage}.{channel}{suffix}@v{versions}")
        raise TemplateError(f"no {channel} template for {situation}/{stage} (locale {locale} or English)")

    def _refresh(self, session: Session) -> None:
        # time.monotonic paces a cache check; it is not business time, so the engine clock is not used.
        now = time.monotonic()
        with self._lock:
            if self._stamp is not None and now - self._checked < self._recheck:
                return
        row = session.exec(select(func.max(MessageTemplate.updated_at), func.count(col(MessageTemplate.id)))).one()
        stamp = (row[0], row[1])
        with self._lock:
            self._checked = now
            if stamp == self._stamp:
                return
        rows = session.exec(
            select(MessageTemplate, TemplateVersion.source, TemplateVersion.version).join(
                TemplateVersion,
                (col(TemplateVersion.template_id) == col(MessageTemplate.id))
                & (col(TemplateVersion.version) == col(MessageTemplate.active_version)),
            )
        ).all()
        cache = {(t.situation, t.stage, t.part, t.locale): (source, version) for t, source, version in rows}
        with self._lock:
            self._cache, self._stamp = cache, stamp


def seed_templates(session: Session, *, now: datetime, root: Path = DEFAULT_TEMPLATE_ROOT) -> int:
    """Load seed files; a template staff never edited follows its seed, an edited one is left alone.

    Workers starting together on a fresh database would each find no templates and insert the same ones;
    the lock makes the others wait and then find them there.
    """
    transaction_lock(session, _SEEDING_LOCK_KEY)
    seeds = load_seed_templates(root)
    existing = {(t.situation, t.stage, t.part, t.locale): t for t in session.exec(select(MessageTemplate))}
    changed = 0
    for key, source in sorted(seeds.items()):
        situation, stage, part, locale = key
        template = existing.get((situation, stage, part, locale))
        if template is None:
            template = MessageTemplate(situation=situation, stage=stage, part=part, locale=locale, updated_at=now)
            session.add(template)
            session.flush()
            session.add(TemplateVersion(template_id=template.id or 0, version=1, source=source, created_at=now))
            changed += 1
            continue
        active = session.exec(
            select(TemplateVersion).where(
                TemplateVersion.template_id == template.id, TemplateVersion.version == template.active_version
            )
        ).one()
        if active.author == "seed" and active.source != source:
            template.active_version = active.version + 1
            template.updated_at = now
            session.add(
                TemplateVersion(
                    template_id=template.id or 0,
                    version=template.active_version,
                    source=source,
                    created_at=now,
                    note="seed updated",
                )
            )
            changed += 1
    if changed:
        audit.append(
            session,
            at=now,
            actor="system",
            action="templates.seeded",
            subject="templates",
            details={"changed": changed, "root": str(root)},
        )
    return changed
