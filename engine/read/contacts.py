"""Contact details on review pages: masked unless staff ask to see them, and asking is audited.

Viewers read everything else (names, messages); an email address or phone number is what lets someone
contact a customer outside Forewarn, so showing one leaves an `contact.revealed` entry naming who, when
and from which network address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from engine import audit
from engine.logmask import mask_email, mask_phone, redact

REVEALED = "contact.revealed"


@dataclass(frozen=True)
class Viewer:
    """Who is reading (the audit actor), from where, and whether they asked to see contact details."""

    actor: str
    address: str | None = None  # the client's network address
    reveal: bool = False


def show_address(address: str | None, viewer: Viewer) -> str | None:
    """An email address or phone number as this viewer may see it."""
    if not address or viewer.reveal:
        return address
    return mask_email(address) if "@" in address else mask_phone(address)


def show_text(text: str | None, viewer: Viewer) -> str | None:
    """Free text that may quote an address (a provider's refusal): addresses masked unless revealed."""
    if not text or viewer.reveal:
        return text
    return redact(text)


def record_reveal(session: Session, viewer: Viewer, *, subject: str, at: datetime, page: str) -> None:
    """Audit that `viewer` saw the contact details on `page` (about `subject`), in the caller's transaction."""
    if not viewer.reveal:
        return
    audit.append(
        session,
        at=at,
        actor=viewer.actor,
        action=REVEALED,
        subject=subject,
        details={"page": page, "address": viewer.address},
    )
