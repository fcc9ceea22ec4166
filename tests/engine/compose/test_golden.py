"""Golden files: every seed template rendered under the matrix of contexts, so a change of wording is
reviewed as a diff.

One file per locale, situation, stage (and carrier problem) under tests/golden/, holding each variant of
the context (first and repeat with a remedy, one item and several, no first name, long and accented names,
lost, on time after all, check-in, a care task, no links, …) whose words differ from the typical one:
the email's subject and text, the SMS with its encoding, and the HTML of the typical one.

    FOREWARN_GOLDEN_RECORD=1 .venv/bin/python -m pytest tests/engine/compose/test_golden.py

re-records them; without it, the test fails on the first difference and shows it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pytest
from support.paths import REPO
from support.seed_cases import VARIANTS, Case, case_id, cases, context_for, digest_context, render
from support.words import LOCALES

from engine.compose import sms_segments

GOLDEN = REPO / "tests" / "golden"
RECORD = os.environ.get("FOREWARN_GOLDEN_RECORD") == "1"
DIGEST_VARIANTS = ("typical", "accented name", "no first name", "long values", "no links")


def _message(situation: str, stage: str, locale: str, ctx: dict[str, Any], *, html: bool) -> str:
    mail = render(situation, stage, locale, "email", ctx)
    text = render(situation, stage, locale, "sms", ctx).text
    encoding = sms_segments(text)
    parts = [
        f"Subject: {mail.subject}",
        "--- email",
        mail.text.rstrip("\n"),
        f"--- sms ({encoding.encoding}, {encoding.characters} characters, {encoding.segments} segment(s))",
        text,
    ]
    if html:
        parts += ["--- html", (mail.html or "").rstrip("\n")]
    return "\n".join(parts)


def golden_text(case: Case) -> str:
    situation, stage, locale, problem = case
    title = " / ".join(part for part in (situation, stage, problem, locale) if part)
    sections: list[str] = [f"# {title}"]
    typical = _message(situation, stage, locale, context_for(situation, stage, locale, "typical", problem), html=False)
    for variant in VARIANTS:
        ctx = context_for(situation, stage, locale, variant, problem)
        body = _message(situation, stage, locale, ctx, html=variant == "typical")
        if variant != "typical" and body == typical:
            continue  # this context changes nothing here
        sections.append(f"## {variant}\n{body}")
    return "\n\n".join(sections) + "\n"


def golden_digest(locale: str) -> str:
    sections = [f"# digest / merged / {locale}"]
    for variant in DIGEST_VARIANTS:
        body = _message("digest", "merged", locale, digest_context(locale, variant), html=variant == "typical")
        sections.append(f"## {variant}\n{body}")
    return "\n\n".join(sections) + "\n"


def path_for(case: Case) -> Path:
    situation, stage, locale, problem = case
    return GOLDEN / locale / f"{situation}.{stage}{'.' + problem if problem else ''}.txt"


def check(path: Path, rendered: str) -> None:
    if RECORD:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        return
    assert path.exists(), f"{path.relative_to(REPO)} is missing: record it with FOREWARN_GOLDEN_RECORD=1"
    recorded = path.read_text(encoding="utf-8")
    if recorded != rendered:
        diff = "".join(
            list(
                difflib.unified_diff(
                    recorded.splitlines(keepends=True),
                    rendered.splitlines(keepends=True),
                    "recorded",
                    "rendered now",
                    n=2,
                )
            )[:60]
        )
        pytest.fail(f"{path.relative_to(REPO)} differs (FOREWARN_GOLDEN_RECORD=1 re-records it):\n{diff}")


CASES = list(cases())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_seed_reads_as_its_golden_file(case: Case) -> None:
    check(path_for(case), golden_text(case))


@pytest.mark.parametrize("locale", LOCALES)
def test_the_digest_reads_as_its_golden_file(locale: str) -> None:
    check(GOLDEN / locale / "digest.merged.txt", golden_digest(locale))


def test_no_golden_file_is_left_over() -> None:
    expected = {path_for(case) for case in CASES} | {GOLDEN / locale / "digest.merged.txt" for locale in LOCALES}
    assert set(GOLDEN.rglob("*.txt")) == expected
