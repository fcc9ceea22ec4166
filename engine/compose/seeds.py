"""The seed templates shipped in `templates/`: file names, loading, choosing a set by locale, and a
realistic sample context to preview them with (`engine.compose.samples`).

Layout: `templates/<situation>/<stage>.<part>[.<locale>].j2`; no locale suffix means English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from engine.compose.render import PARTS_BY_CHANNEL, TemplateSet
from engine.compose.samples import sample_context as sample_context  # previews and tests find them here
from engine.compose.samples import sample_digest_context as sample_digest_context
from engine.detection.rules import TEMPLATE_STAGES
from engine.errors import TemplateError
from engine.vocabulary import Channel

# The kinds and stages templates exist for come from the detection rules (engine/detection/rules.py);
# the digest (the one message that carries several threads' news when the daily cap merges them) gets
# `digest.items` instead of one order or incident.
PARTS = ("subject", "text", "html", "sms")
FALLBACK_LOCALE = "en"

_FILE_NAME = re.compile(r"(?P<stage>[a-z_]+)\.(?P<part>[a-z]+)(?:\.(?P<locale>[A-Za-z0-9_-]+))?\.j2")
_LOCALE = re.compile(r"[a-z]{2,3}(?:-[A-Z]{2}|-[0-9]{3}|-[A-Z][a-z]{3})*")


class TemplateKey(NamedTuple):
    situation: str
    stage: str
    part: str
    locale: str  # "en" for files without a locale suffix


def normalize_locale(tag: str) -> str:
    """`pt_br`, `PT-BR` → `pt-BR`: the spelling template file names use."""
    pieces = tag.strip().replace("_", "-").split("-")
    head = pieces[0].lower()
    tail = [p.upper() if len(p) == 2 else p.title() if len(p) == 4 else p for p in pieces[1:]]
    return "-".join([head, *tail])


def locale_fallbacks(locale: str) -> list[str]:
    """The order templates are looked up in: `pt-BR` → `pt-BR`, `pt`, `en`."""
    chain: list[str] = []
    tag = normalize_locale(locale) if locale.strip() else FALLBACK_LOCALE
    pieces = tag.split("-")
    for end in range(len(pieces), 0, -1):
        candidate = "-".join(pieces[:end])
        if candidate not in chain:
            chain.append(candidate)
    if FALLBACK_LOCALE not in chain:
        chain.append(FALLBACK_LOCALE)
    return chain


def parse_template_path(root: Path, path: Path) -> TemplateKey:
    """Read the key out of a template's path, or say exactly what is wrong with the name."""
    relative = path.relative_to(root)
    expected = "templates/<situation>/<stage>.<part>[.<locale>].j2, e.g. shipment.delayed/initial.sms.pt-BR.j2"
    if len(relative.parts) != 2:
        raise TemplateError(f"{relative}: templates live one folder deep; expected {expected}")
    situation, name = relative.parts
    match = _FILE_NAME.fullmatch(name)
    if match is None:
        raise TemplateError(f"{relative}: malformed template file name; expected {expected}")
    stage, part, locale = match["stage"], match["part"], match["locale"]
    kind = next((known for known in TEMPLATE_STAGES if known == situation), None)
    if kind is None:
        raise TemplateError(f"{relative}: unknown situation {situation!r}; known: {', '.join(TEMPLATE_STAGES)}")
    if stage not in TEMPLATE_STAGES[kind]:
        raise TemplateError(f"{relative}: unknown stage {stage!r}; known: {', '.join(TEMPLATE_STAGES[kind])}")
    if part not in PARTS:
        raise TemplateError(f"{relative}: unknown part {part!r}; known: {', '.join(PARTS)}")
    if locale is None:
        locale = FALLBACK_LOCALE
    elif locale == FALLBACK_LOCALE:
        raise TemplateError(f"{relative}: English templates have no locale suffix; rename to {stage}.{part}.j2")
    elif not _LOCALE.fullmatch(locale):
        raise TemplateError(f"{relative}: locale {locale!r} is not a tag like 'pt-BR' or 'es'")
    return TemplateKey(situation, stage, part, locale)


def load_seed_templates(root: Path) -> dict[TemplateKey, str]:
    """Every `*.j2` under `root`, keyed by (situation, stage, part, locale); other files are ignored."""
    if not root.is_dir():
        raise TemplateError(f"template folder {root} does not exist")
    templates: dict[TemplateKey, str] = {}
    for path in sorted(root.rglob("*.j2")):
        if any(piece.startswith(".") for piece in path.relative_to(root).parts):
            continue
        key = parse_template_path(root, path)
        templates[key] = path.read_text(encoding="utf-8")
    return templates


def select_template_set(
    templates: Mapping[TemplateKey, str],
    *,
    situation: str,
    stage: str,
    locale: str,
    channel: Channel,
) -> TemplateSet:
    """The first locale in the fallback chain with every part the channel needs (never a mix)."""
    needed = PARTS_BY_CHANNEL[channel]
    chain = locale_fallbacks(locale)
    for candidate in chain:
        keys = [TemplateKey(situation, stage, part, candidate) for part in needed]
        if all(key in templates for key in keys):
            return TemplateSet(situation, stage, candidate, {k.part: templates[k] for k in keys})
    raise TemplateError(
        f"no {channel} templates for {situation}/{stage} in {' → '.join(chain)} (needs {', '.join(needed)})"
    )
