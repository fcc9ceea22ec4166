"""What a back-test writes: one JSON line per notice that would be sent (DESIGN §5), and its summary."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import col, select

from engine.clock import format_instant
from engine.models import Notice, Situation
from engine.replay.frontier import Bin, Point
from engine.runtime import Runtime
from engine.vocabulary import NoticeStatus, SituationKind, Stage

WARNING_STAGES = (Stage.INITIAL, Stage.UPDATE)


@dataclass
class ReplaySummary:
    events: int = 0
    duplicates: int = 0
    ticks: int = 0
    notices: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    failed: int = 0
    merged: int = 0  # notices whose news went out inside another (the daily cap)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    seconds: float = 0.0
    # Each order's first warning sent (as the scorer reads them) and what its probabilities were worth.
    first_warned: dict[str, datetime] = field(default_factory=dict)
    reliability: list[Bin] = field(default_factory=list)
    frontier: list[Point] = field(default_factory=list)


def write_notices(rt: Runtime, out: Path, summary: ReplaySummary) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with rt.unit_of_work() as session:
        rows = session.exec(select(Notice).order_by(col(Notice.send_at), col(Notice.id))).all()
        why = {s.id: s.details for s in session.exec(select(Situation)).all()}
        merged: dict[int, list[Notice]] = {}
        for notice in rows:
            if notice.status == NoticeStatus.MERGED and notice.merged_into is not None:
                merged.setdefault(notice.merged_into, []).append(notice)
        with out.open("w", encoding="utf-8") as handle:
            for notice in rows:
                if notice.status == NoticeStatus.SENT:
                    for line in _lines(notice, merged.get(notice.id or 0, []), why):
                        _write_line(handle, line)
                        _note_warning(summary, line, notice.send_at)
                        summary.notices[f"{line['situation']}/{line['stage']}/{line['channel']}"] += 1
                elif notice.status == NoticeStatus.DROPPED:
                    summary.dropped += 1
                elif notice.status == NoticeStatus.FAILED:
                    summary.failed += 1
                elif notice.status == NoticeStatus.MERGED:
                    summary.merged += 1


def _note_warning(summary: ReplaySummary, line: dict[str, Any], at: datetime) -> None:
    order_id, situation = line["order_id"], str(line["situation"])
    if order_id and situation.startswith(("order.", "shipment.")) and line["stage"] in WARNING_STAGES:
        known = summary.first_warned.get(order_id)
        summary.first_warned[order_id] = at if known is None else min(known, at)


def _why(details: dict[str, Any] | None) -> dict[str, Any]:
    """`reason` and `confidence` of the situation a notice tells (DESIGN §5), null when it has none."""
    details = details or {}
    return {"reason": details.get("reason"), "confidence": details.get("confidence")}


def _lines(notice: Notice, originals: list[Notice], why: dict[int | None, dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per notice sent; a digest is one line per thread it told about (its order or incident,
    situation and stage, with the digest's channel, time and text), so each is credited as told."""
    line = {
        "notice_id": notice.id,
        "customer_id": notice.customer_id,
        "order_id": notice.order_id,
        "incident_id": notice.incident_id,
        "situation": notice.situation,
        "stage": notice.stage,
        "channel": notice.channel,
        "recipient": notice.recipient,
        "send_at": format_instant(notice.send_at),
        "subject": notice.subject,
        "body": notice.body,
        "template": notice.template,
        **_why(why.get(notice.situation_id)),
        "next_update_by": format_instant(notice.next_update_at) if notice.next_update_at else None,
    }
    if notice.situation != SituationKind.DIGEST:
        return [line]
    threads: dict[str, list[Notice]] = {}
    for original in originals:
        threads.setdefault(original.thread_key, []).append(original)
    return [
        {
            **line,
            "order_id": group[-1].order_id,
            "incident_id": group[-1].incident_id,
            "situation": group[-1].situation,
            "stage": group[0].stage,
            **_why(why.get(group[-1].situation_id)),
        }
        for group in threads.values()
    ]


def _write_line(handle: IO[str], line: dict[str, Any]) -> None:
    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
