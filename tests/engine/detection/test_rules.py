"""The rules' registry is the one list of situation kinds: what the engine raises, what templates and
the documentation cover."""

from __future__ import annotations

import ast
from pathlib import Path

from support.paths import REPO, TEMPLATES

from engine.compose.seeds import load_seed_templates
from engine.detection.rules import RAISED_KINDS, RULES, TEMPLATE_STAGES
from engine.vocabulary import Channel, SituationKind


def kinds_named_in(path: Path) -> set[SituationKind]:
    """The SituationKind members a module's source names (`SituationKind.X`)."""
    return {
        SituationKind[node.attr]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "SituationKind"
    }


def test_every_kind_the_engine_raises_belongs_to_exactly_one_rule() -> None:
    assert len(RAISED_KINDS) == len(set(RAISED_KINDS))
    assert set(RAISED_KINDS) | {SituationKind.DIGEST} == set(SituationKind)
    # The late-order judgement raises only its rule's kinds.
    [late] = [rule for rule in RULES if rule.module == "engine.detection.orders"]
    assert kinds_named_in(REPO / "engine" / "detection" / "assess.py") <= set(late.kinds)


def test_every_kind_has_seed_templates_for_each_stage_channel_and_locale() -> None:
    seeds = load_seed_templates(TEMPLATES)
    locales = {key.locale for key in seeds}
    needed = {"email": ("subject", "text", "html"), "sms": ("sms",)}
    missing = [
        f"{kind}/{stage}.{part}.{locale}"
        for kind, stages in TEMPLATE_STAGES.items()
        for stage in stages
        for channel in Channel
        for part in needed[channel]
        for locale in locales
        if (kind, stage, part, locale) not in {(k.situation, k.stage, k.part, k.locale) for k in seeds}
    ]
    assert missing == []


def test_every_kind_is_documented() -> None:
    documented = (REPO / "docs" / "detection.md").read_text() + (REPO / "docs" / "templates.md").read_text()
    assert [kind for kind in RAISED_KINDS if f"`{kind}`" not in documented] == []
