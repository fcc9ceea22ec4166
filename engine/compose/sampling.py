"""What a preview renders with: a named sample (`sample:NAME`) or a real notice's context (`notice:ID`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from engine.compose import fixtures
from engine.compose.preview import Preview, preview
from engine.compose.versions import TemplateKey
from engine.runtime import Runtime


class BadContext(ValueError):
    pass


@dataclass(frozen=True)
class Rendered:
    preview: Preview
    sample: str  # "sample:first-delay" or "notice:12"
    sent: dict[str, str | None] | None = None  # what a real notice's customer got


def render_with(session: Session, rt: Runtime, key: TemplateKey, parts: dict[str, str], context: str) -> Rendered:
    kind, _, name = context.partition(":")
    timezone: str | None = None
    sent = None
    if kind == "sample":
        try:
            values: dict[str, Any] = fixtures.fixture_context(
                name, situation=key.situation, stage=key.stage, locale=key.locale
            )
        except fixtures.UnknownFixture as exc:
            raise BadContext(str(exc)) from None
    elif kind == "notice" and name.isdigit():
        from engine.notices.rerender import NoContext, notice_context  # notices build on compose

        try:
            found = notice_context(session, rt, int(name))
        except NoContext as exc:
            raise BadContext(str(exc)) from None
        values, timezone, sent = found.context, found.timezone, found.sent
    else:
        raise BadContext(f'context must be "sample:NAME" or "notice:ID", got {context!r}')
    result = preview(
        parts,
        situation=key.situation,
        stage=key.stage,
        channel=key.channel,
        locale=key.locale,
        context=values,
        timezone=timezone,
    )
    return Rendered(result, context, sent)
