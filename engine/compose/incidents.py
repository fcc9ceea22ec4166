"""How an incident reads to a customer: its components by name, and only the status notes that say something.

Status pages and alerting rules name components by slug (`order-tracking`, `payments-api`) and fill the
incident note with the tool's default words ("We are currently investigating this issue."). A person
writing to a customer would say "order tracking" and would not quote a note that only repeats the status.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# Written in capitals when a slug is turned into words ("payments-api" → "payments API").
_ACRONYMS = {"api": "API", "sms": "SMS", "sso": "SSO", "ui": "UI", "ios": "iOS", "id": "ID", "eu": "EU", "us": "US"}
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)+$")

# Notes that only restate the status: Statuspage's default incident templates, and the one-word notes
# status tools and people post. Compared after lower-casing and dropping punctuation.
_STATUS_ONLY = {
    "investigating",
    "we are investigating",
    "we are investigating this issue",
    "we are currently investigating this issue",
    "we're investigating",
    "identified",
    "the issue has been identified and a fix is being implemented",
    "monitoring",
    "a fix has been implemented and we are monitoring the results",
    "recovering",
    "resolved",
    "this incident has been resolved",
    "fixed",
    "update",
    "firing",
    "triggered",
    "acknowledged",
}


def display_name(component: str) -> str:
    """ "order-tracking" → "order tracking", "payments-api" → "payments API"; a name already written
    for people ("Payments API", "Checkout") is kept as it is."""
    if not _SLUG.match(component):
        return component
    return " ".join(_ACRONYMS.get(word, word) for word in re.split(r"[-_.]", component))


def is_news(message: str | None) -> bool:
    """Whether a status note tells the customer something the status does not."""
    if not message:
        return False
    words = re.sub(r"[^\w\s']", " ", message.lower()).split()
    return " ".join(words) not in _STATUS_ONLY


def _load_names(path: Path) -> dict[str, dict[str, str]]:
    """The table of component names per language, checked once at import: every name a string."""
    table = json.loads(path.read_text(encoding="utf-8"))
    if not all(isinstance(words, dict) and all(isinstance(v, str) for v in words.values()) for words in table.values()):
        raise ValueError(f"{path.name}: each component maps language codes to names")
    return {str(key): dict(words) for key, words in table.items()}


# What customers call the components most shops have, per language: the default of
# FOREWARN_COMPONENT_NAMES (which staff extend or override). Keys are a component's words, lower-case,
# without a trailing "api" or "service" ("payments-api" → "payments").
COMMON_NAMES: dict[str, dict[str, str]] = _load_names(Path(__file__).with_name("component_names.json"))
_TRAILING = re.compile(r"\s+(api|service)$")


def customer_name(component: str, locale: str, names: dict[str, dict[str, str]] | None = None) -> str:
    """The name a customer reading `locale` knows the component by: staff's (FOREWARN_COMPONENT_NAMES),
    else a common one, else its slug in words ("order-tracking" → "order tracking")."""
    language = locale.split("-")[0]
    for table, key in ((names or {}, component), (COMMON_NAMES, _TRAILING.sub("", display_name(component).lower()))):
        known = table.get(key)
        if known:
            found = known.get(locale) or known.get(language) or known.get("en")
            if found:
                return found
    return display_name(component)
