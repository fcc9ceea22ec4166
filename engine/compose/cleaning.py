"""What a rendered part becomes before it is sent: one-line subjects that fit, one-paragraph texts, tidy
email text."""

from __future__ import annotations

import re
import unicodedata

from engine.errors import TemplateError

# Whitespace other than line breaks: tabs, and the no-break spaces CLDR and pasted product names bring
# (U+00A0, narrow U+202F, thin U+2009, ideographic U+3000, …) — Python's \s knows them all.
_SPACES = re.compile(r"[^\S\r\n]+")
# Zero-width characters are not whitespace, so " \u200b " would survive as two visible spaces.
_INVISIBLE = re.compile("[\u180e\u200b\u2060\ufeff]")
_LINE_BREAK = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_BLANK_RUNS = re.compile(r"\n{3,}")


def clean_subject(rendered: str) -> str:
    """One line: runs of any kind of space collapse to one plain space (zero-width characters go), the ends
    are trimmed, a line break left inside is an error."""
    subject = _SPACES.sub(" ", _INVISIBLE.sub("", rendered)).strip()
    if _LINE_BREAK.search(subject):
        raise TemplateError(f"subject template: the subject must be one line, got {subject!r}")
    if not subject:
        raise TemplateError("subject template: the subject is empty")
    return fit_subject(subject)


# What a subject may be: mail clients show 40-80 characters, and a long product name must not make a
# subject the database cannot store (notices.subject is 500) nor a header nobody can read.
SUBJECT_MAX_CHARS = 200
_ELLIPSIS = "…"


def fit_subject(subject: str, limit: int = SUBJECT_MAX_CHARS) -> str:
    """`subject` if it fits; else cut at the last word boundary that leaves room for "…" (or mid-word
    when one word is longer than half the limit), never between a letter and its combining accent."""
    if len(subject) <= limit:
        return subject
    room = limit - len(_ELLIPSIS)
    cut = subject[: room + 1].rfind(" ")
    if cut < room // 2:
        cut = room
    while cut > 0 and unicodedata.combining(subject[cut]):
        cut -= 1
    return subject[:cut].rstrip(" ,;:-\u2013\u2014") + _ELLIPSIS  # no dangling dash (en, em) or comma


def clean_sms(rendered: str) -> str:
    """An SMS is one paragraph: every run of whitespace (line breaks too) becomes one space."""
    return " ".join(rendered.split())


def clean_text(rendered: str) -> str:
    """Trim trailing spaces and the blank lines left behind by `{% if %}` blocks."""
    lines = [line.rstrip() for line in rendered.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"
