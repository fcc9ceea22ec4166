"""What staff read before deciding a fan-out (GET /api/approvals/{id}): who would hear, by channel and
locale, and the message rendered for the followers most likely to show a problem — the first of each
language, the longest name, and a text that needs UCS-2 (70 characters a segment instead of 160).

Samples are rendered now, from the live templates and the real incident, as the fan-out would render
them; nothing is written.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine.brakes import approvals as approval_service
from engine.detection.outages.rule import KIND, incident_subject_key
from engine.errors import TemplateError
from engine.models import FanoutApproval, Incident
from engine.notices.composer import Composer, Subject
from engine.notices.planner import SituationRow
from engine.read import incident_records as records
from engine.read.notice_detail import sms_parts
from engine.runtime import Runtime
from engine.state.subscriptions import Subscriber
from engine.vocabulary import Channel, Stage

TEXTERS_TRIED = 50  # followers who take texts rendered while looking for one that needs UCS-2


def approval_review(session: Session, rt: Runtime, approval_id: int) -> dict[str, Any] | None:
    approval = session.get(FanoutApproval, approval_id)
    if approval is None:
        return None
    incident = session.get(Incident, approval.incident_id)
    return {
        **approval_service.describe(approval),
        "audience": audience(session, approval.component),
        "samples": samples(session, rt, approval.component, incident, now=rt.clock.now()) if incident else [],
    }


def audience(session: Session, component: str) -> dict[str, Any]:
    """Followers now, by channel they can be reached on and by locale (a customer with both channels is
    counted under each channel, once in `followers`)."""
    by_channel: Counter[str] = Counter()
    by_locale: Counter[str] = Counter()
    unreachable = 0
    for locale, email, sms, count in records.audience(session, component):
        by_locale[locale] += count
        by_channel[Channel.EMAIL] += count if email else 0
        by_channel[Channel.SMS] += count if sms else 0
        unreachable += count if not (email or sms) else 0
    return {
        "followers": sum(by_locale.values()),
        "by_channel": {str(channel): by_channel[channel] for channel in Channel},
        "by_locale": dict(sorted(by_locale.items())),
        "unreachable": unreachable,
        "note": "consent and an address; the suppression list and quiet hours apply when sending",
    }


def samples(
    session: Session, rt: Runtime, component: str, incident: Incident, *, now: datetime
) -> list[dict[str, Any]]:
    """The `initial` message for each locale's first follower and the longest name (email, and the text if
    they take texts), and the first text that needs UCS-2, each marked with why it was chosen. A message
    the template cannot render (a text over its segment budget, say) is a sample too, with its `error`."""
    chosen = records.sample_followers(session, component, texted=TEXTERS_TRIED)
    composer = Composer(rt)
    out: list[dict[str, Any]] = []
    picks = [(f"locale {s.locale}", s) for s in chosen["locales"]]
    picks += [("longest name", s) for s in chosen["longest_name"]]
    for why, follower in picks:
        for channel in _channels(follower):
            out.append(_render(session, composer, follower, channel, incident, now=now, why=why))
    if not any(_needs_ucs2(s) for s in out):
        for follower in chosen["texters"]:
            text = _render(session, composer, follower, Channel.SMS, incident, now=now, why="a UCS-2 text")
            if _needs_ucs2(text):
                out.append(text)
                break
    for sample in out:
        if _needs_ucs2(sample) and "a UCS-2 text" not in sample["why"]:
            sample["why"].append("a UCS-2 text")
    return out


def _needs_ucs2(sample: dict[str, Any]) -> bool:
    """A text in UCS-2, or one that failed because UCS-2 made it too long (the worst case of all)."""
    return sample.get("encoding") == "UCS-2" or "UCS-2" in str(sample.get("error") or "")


def _channels(follower: Subscriber) -> list[Channel]:
    return [c for c in Channel if c in follower.channels and (follower.phone if c == Channel.SMS else follower.email)]


def _render(
    session: Session,
    composer: Composer,
    follower: Subscriber,
    channel: Channel,
    incident: Incident,
    *,
    now: datetime,
    why: str,
) -> dict[str, Any]:
    # Never written: it only feeds the template context, as the approval's own preview does.
    situation = SituationRow(0, KIND, incident_subject_key(incident.id), None, incident.id, now)
    sample: dict[str, Any] = {
        "why": [why],
        "customer_id": follower.id,
        "name": follower.name,
        "locale": follower.locale,
        "channel": channel,
    }
    try:
        composed = composer.compose(
            session,
            kind=KIND,
            stage=Stage.INITIAL,
            channel=channel,
            customer=follower,
            situation=situation,
            subject=Subject(incident=incident),
            now=now,
            first_sms=channel == Channel.SMS,
        )
    except TemplateError as exc:
        return {**sample, "error": str(exc)}
    if channel == Channel.SMS:
        return {**sample, **sms_parts(composed.body)}

    return {**sample, "subject": composed.subject, "text": composed.body, "html": composed.html}
