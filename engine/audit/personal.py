"""Personal data in the audit log, kept beside the chain so that it can be erased while the chain verifies.

An entry about a customer that must quote something personal (the words of their reply) chains only a
reference, `{"of": <customer id>, "digest": HMAC(salt, data)}`; the data and its random salt sit in
`audit_personal` under the entry's seq. `forewarn audit verify` checks each row still there against its
digest (an edit is caught) and accepts a missing one only for a customer whose erasure the chain records
(`customer.erased`). Erasing deletes the rows: without the salt the digest left in the chain cannot be
matched to a guess, even a phone number's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, NamedTuple

from sqlalchemy import delete
from sqlmodel import Session, col, select

from engine.audit.canonical import canonical_json, jsonable
from engine.models import AuditEntry, AuditPersonal

KEY = "personal"  # where the reference sits in the chained details
ERASED = "customer.erased"  # the chained entry that makes a customer's missing rows expected


class Personal(NamedTuple):
    """What an entry says that is the customer's own, and whose it is."""

    customer_id: str
    data: dict[str, Any]


def seal(personal: Personal) -> tuple[dict[str, str], dict[str, Any]]:
    """The reference to chain, and the erasable row (without its seq)."""
    salt = secrets.token_bytes(16)
    data = jsonable(personal.data)
    reference = {"of": personal.customer_id, "digest": digest(salt, data)}
    return reference, {"customer_id": personal.customer_id, "salt": salt.hex(), "data": data}


def digest(salt: bytes, data: Any) -> str:
    return hmac.new(salt, canonical_json(data).encode("utf-8"), hashlib.sha256).hexdigest()


def reference_of(details: dict[str, Any]) -> dict[str, str] | None:
    found = details.get(KEY)
    return found if isinstance(found, dict) and "digest" in found else None


def matches(reference: dict[str, str], row: AuditPersonal) -> bool:
    try:
        salt = bytes.fromhex(row.salt)
    except ValueError:
        return False
    expected = digest(salt, row.data)
    return row.customer_id == reference.get("of") and hmac.compare_digest(expected, reference.get("digest", ""))


def erase(session: Session, customer_id: str) -> int:
    """Delete what the audit log holds of this customer's own words, in the caller's transaction."""
    result = session.execute(delete(AuditPersonal).where(AuditPersonal.customer_id == customer_id))  # type: ignore[arg-type]
    return int(getattr(result, "rowcount", 0) or 0)


def with_parts(session: Session, entries: list[AuditEntry]) -> list[AuditEntry]:
    """For reading: entries with their personal parts put back into `details` (an erased one stays a
    reference). Those entries are detached from the session first, so the change can never be flushed
    into the chain."""
    wanted = [e.seq for e in entries if reference_of(e.details) is not None]
    if not wanted:
        return entries
    rows = {r.seq: r for r in session.exec(select(AuditPersonal).where(col(AuditPersonal.seq).in_(wanted))).all()}
    for entry in entries:
        row = rows.get(entry.seq)
        if row is not None:
            session.expunge(entry)
            entry.details = {**{k: v for k, v in entry.details.items() if k != KEY}, **row.data}
    return entries
