"""Every template a deployment needs (situation, stage, channel and locale), what is published for each,
the drafts waiting, and the locales still missing. Kinds and stages come from the detection rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from engine.clock import format_instant
from engine.compose.seeds import FALLBACK_LOCALE
from engine.detection.rules import TEMPLATE_STAGES
from engine.models import TemplateVersion
from engine.vocabulary import Channel, SituationKind, Stage, VersionStatus


@dataclass
class Entry:
    situation: SituationKind
    stage: Stage
    channel: Channel
    locale: str
    published: TemplateVersion | None = None
    drafts: list[TemplateVersion] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"{self.situation}/{self.stage}/{self.channel}/{self.locale}"

    def as_dict(self) -> dict[str, Any]:
        published = self.published
        return {
            "situation": self.situation,
            "stage": self.stage,
            "channel": self.channel,
            "locale": self.locale,
            "published": {
                "version_id": published.id,
                "number": published.number,
                "author": published.author,
                "published_at": format_instant(published.published_at) if published.published_at else None,
            }
            if published
            else None,
            "drafts": [draft.id for draft in self.drafts],
        }


def locales(session: Session) -> list[str]:
    found = set(session.exec(select(TemplateVersion.locale).distinct()).all()) | {FALLBACK_LOCALE}
    return sorted(found, key=lambda locale: (locale != FALLBACK_LOCALE, locale))


def overview(session: Session) -> list[Entry]:
    """One entry per situation, stage, channel and known locale, in the rules' order."""
    entries: dict[tuple[str, str, str, str], Entry] = {}
    for situation, stages in TEMPLATE_STAGES.items():
        for stage in stages:
            for channel in Channel:
                for locale in locales(session):
                    entries[(situation, stage, channel, locale)] = Entry(situation, stage, channel, locale)
    live = select(TemplateVersion).where(
        col(TemplateVersion.status).in_([VersionStatus.PUBLISHED, VersionStatus.DRAFT])
    )
    for version in session.exec(live.order_by(col(TemplateVersion.number))):
        entry = entries.get((version.situation, version.stage, version.channel, version.locale))
        if entry is None:
            continue
        if version.status == VersionStatus.PUBLISHED:
            entry.published = version
        else:
            entry.drafts.append(version)
    for entry in entries.values():  # a draft older than what is published is history, not open work
        newest = entry.published.number if entry.published else 0
        entry.drafts = [draft for draft in entry.drafts if draft.number > newest]
    return list(entries.values())


def missing_locales(entries: list[Entry]) -> dict[str, list[str]]:
    """Situation → the locales in which some stage or channel has nothing published."""
    missing: dict[str, set[str]] = {}
    for entry in entries:
        if entry.published is None:
            missing.setdefault(entry.situation, set()).add(entry.locale)
    return {situation: sorted(found) for situation, found in missing.items()}
