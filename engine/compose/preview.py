"""Preview a draft: render it in the same sandbox as real sends, count the SMS, run the checklist, and
point every error at its part, line and column. Also the check a draft must pass to be saved."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.compose import fixtures
from engine.compose.checklist import Finding, Message, check_message
from engine.compose.cleaning import clean_sms, clean_subject, clean_text
from engine.compose.contract import Problem, check_names, locate
from engine.compose.render import (
    PARTS_BY_CHANNEL,
    SANDBOX_GLOBALS,
    SMS_COMPACT,
    SMS_MAX_SEGMENTS,
    PartProblem,
    preview_variables,
    sms_attempts,
    try_render_part,
)
from engine.compose.segments import GSM7_BASIC, GSM7_EXTENSION, MULTIPART_LIMIT, sms_segments
from engine.errors import TemplateError
from engine.vocabulary import Channel


@dataclass
class Preview:
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    sms: str | None = None
    encoding: str | None = None
    characters: int | None = None
    segments: int | None = None
    ucs2_characters: list[str] = field(default_factory=list)  # what forces UCS-2
    over_budget: int = 0  # characters past the 2-segment budget
    compact: bool = False  # the SMS needed `sms_compact` to fit
    findings: list[Finding] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "sms": self.sms,
            "encoding": self.encoding,
            "characters": self.characters,
            "segments": self.segments,
            "ucs2_characters": self.ucs2_characters,
            "over_budget": self.over_budget,
            "compact": self.compact,
            "findings": [f.as_dict() for f in self.findings],
            "errors": [problem_dict(p) for p in self.errors],
        }


def problem_dict(problem: Problem) -> dict[str, Any]:
    return {"part": problem.part, "line": problem.line, "column": problem.column, "message": problem.message}


def _problem(parts: Mapping[str, str], found: PartProblem) -> Problem:
    hint = ""
    quoted = re.findall(r"'([A-Za-z_][\w]*)'", found.detail)
    if quoted:
        hint = quoted[-1]  # "'dict object' has no attribute 'nickname'" → nickname
    line, column = locate(parts.get(found.part, ""), found.line, hint)
    detail = found.detail
    if "'None' has no attribute" in detail:  # e.g. an order in an outage's message
        detail = f"this situation does not provide it here ({detail}); guard it with {{% if %}}"
    return Problem(found.part, line, column, f"{found.kind}: {detail}")


def missing_parts(parts: Mapping[str, str], channel: Channel) -> list[Problem]:
    return [
        Problem(part, 1, 1, f"the {part} part is empty")
        for part in PARTS_BY_CHANNEL[channel]
        if not (parts.get(part) or "").strip()
    ]


def _render(parts: Mapping[str, str], part: str, variables: dict[str, Any], out: Preview) -> str | None:
    result = try_render_part(part, parts[part], variables)
    if isinstance(result, PartProblem):
        out.errors.append(_problem(parts, result))
        return None
    return result


def _sms(parts: Mapping[str, str], context: Mapping[str, Any], locale: str, timezone: str, out: Preview) -> None:
    # What the engine would send: the same giving-up order as `render_message` (items, details, the
    # next-update sentence, the name last), so the preview never disagrees with the real text.
    for variables in sms_attempts(preview_variables(context, locale=locale, timezone=timezone)):
        rendered = _render(parts, "sms", variables, out)
        if rendered is None:
            return
        out.sms, out.compact = clean_sms(rendered), bool(variables.get(SMS_COMPACT))
        if sms_segments(out.sms).segments <= SMS_MAX_SEGMENTS:
            break
    text = out.sms or ""
    counted = sms_segments(text)
    out.encoding, out.characters, out.segments = counted.encoding, counted.characters, counted.segments
    out.ucs2_characters = sorted({ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION})
    out.over_budget = max(0, counted.characters - SMS_MAX_SEGMENTS * MULTIPART_LIMIT[counted.encoding])
    if counted.segments > SMS_MAX_SEGMENTS:
        out.errors.append(
            Problem(
                "sms", 1, 1, f"{counted.segments} segments even with sms_compact: {out.over_budget} characters over"
            )
        )


def _email(parts: Mapping[str, str], context: Mapping[str, Any], locale: str, timezone: str, out: Preview) -> None:
    variables = preview_variables(context, locale=locale, timezone=timezone)
    subject, text, html = (_render(parts, part, variables, out) for part in ("subject", "text", "html"))
    if subject is not None:
        try:
            out.subject = clean_subject(subject)
        except TemplateError as exc:
            out.errors.append(Problem("subject", 1, 1, str(exc)))
    out.text = clean_text(text) if text is not None else None
    out.html = html.strip() + "\n" if html is not None else None


def preview(
    parts: Mapping[str, str],
    *,
    situation: str,
    stage: str,
    channel: Channel,
    locale: str,
    context: Mapping[str, Any],
    timezone: str | None = None,
) -> Preview:
    out = Preview(errors=missing_parts(parts, channel))
    if out.errors:
        return out
    for part in PARTS_BY_CHANNEL[channel]:
        out.errors += check_names(part, parts[part], environment_globals=SANDBOX_GLOBALS)
    zone = timezone or str((context.get("customer") or {}).get("timezone") or "UTC")
    (_sms if channel == Channel.SMS else _email)(parts, context, locale, zone, out)
    body = out.sms if channel == Channel.SMS else out.text
    if body is not None:  # the checklist helps most when something is wrong (an SMS over budget)
        message = Message(channel, stage, locale, out.subject, body)
        out.findings = check_message(message, context)
    return out


def validate(parts: Mapping[str, str], *, situation: str, stage: str, channel: Channel, locale: str) -> list[Problem]:
    """What stops a draft being saved: every sample that fits the situation must render. A variable the
    situation does not provide (an order in an outage, a shipment before one exists) fails here."""
    problems = missing_parts(parts, channel)
    if problems:
        return problems
    seen: dict[tuple[str, int, str], Problem] = {}
    for fixture in fixtures.fixtures_for(situation):
        if not fixture.speaks(locale):
            continue
        context = fixtures.fixture_context(fixture.name, situation=situation, stage=stage, locale=locale)
        result = preview(parts, situation=situation, stage=stage, channel=channel, locale=locale, context=context)
        for problem in result.errors:
            key = (problem.part, problem.line, problem.message)
            if key not in seen:
                seen[key] = Problem(
                    problem.part, problem.line, problem.column, f"{problem.message} (sample: {fixture.label})"
                )
    return sorted(seen.values(), key=lambda p: (p.part, p.line, p.column))
