"""audit you can trust: the log refuses UPDATE/DELETE/TRUNCATE, entries are signed with the audit key,
and personal data sits beside the chain (erasable)

- `audit_personal`: what an entry quotes of a customer's own (a reply's words), under the entry's seq,
  with the salt of the digest the chain holds instead (engine/audit/personal.py).
- The chain so far was hashed with plain SHA-256, which anyone who can write the table can recompute.
  This revision verifies it as it stands (and stops if it is broken: an operator must look first),
  then signs every entry again with HMAC-SHA256 under FOREWARN_AUDIT_KEY (engine/audit/keys.py).
- Triggers refuse UPDATE and DELETE on `audit_entries` (and TRUNCATE on PostgreSQL): engine/audit/guard.py.

Revision ID: c1d2e3f40013
Revises: b8c9d0e10008
Create Date: 2026-12-12 10:00:00.000000
"""

import hashlib
import json
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from engine.clock import format_instant
from engine.db import JSONType, UTCDateTime

revision: str = "c1d2e3f40013"
down_revision: str | None = "b8c9d0e10008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
_entries = sa.table(
    "audit_entries",
    sa.column("seq", sa.Integer()),
    sa.column("at", UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("details", JSONType()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


_personal = sa.table(
    "audit_personal",
    sa.column("seq", sa.Integer()),
    sa.column("customer_id", sa.String()),
    sa.column("salt", sa.String()),
    sa.column("data", JSONType()),
)


def _text(row: sa.Row, prev: str, details: object = None) -> bytes:
    fields = {
        "seq": row.seq,
        "at": format_instant(row.at),
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "details": row.details if details is None else details,
        "prev": prev,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _plain(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


def _resign(old: Callable[[bytes], str], new: Callable[[bytes], str], *, set_apart: bool) -> None:
    """Check every entry under `old`, then chain them again under `new` (one pass, in seq order).

    `set_apart`: a customer's reply quoted in the chain (`customer.replied` details `text`) moves to
    `audit_personal`, the chain keeping its digest, so that erasing that customer reaches old replies too."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(_entries).order_by(_entries.c.seq)).all()
    prev_old, prev_new = GENESIS, GENESIS
    updates, apart = [], []
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected or row.prev_hash != prev_old or old(_text(row, prev_old)) != row.hash:
            raise RuntimeError(
                f"audit entry {expected} does not verify as written; run `forewarn audit verify` on the previous "
                "release and settle it before upgrading (re-signing now would hide what happened)"
            )
        details = row.details
        if set_apart and row.action == "customer.replied" and "text" in details:
            from engine.audit.personal import KEY, Personal, seal

            reference, kept = seal(Personal(row.subject.removeprefix("customer:"), {"text": details["text"]}))
            details = {**{k: v for k, v in details.items() if k != "text"}, KEY: reference}
            apart.append({"seq": row.seq, **kept})
        digest = new(_text(row, prev_new, details))
        updates.append({"k": row.seq, "p": prev_new, "h": digest, "d": details})
        prev_old, prev_new = row.hash, digest
    if not updates:
        return
    # Unique hashes: move every row aside first so no new value collides with an old one mid-update.
    bind.execute(sa.text("UPDATE audit_entries SET hash = 'x' || CAST(seq AS VARCHAR)"))
    bind.execute(
        _entries.update()
        .where(_entries.c.seq == sa.bindparam("k"))
        .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h"), details=sa.bindparam("d")),
        updates,
    )
    if apart:
        bind.execute(_personal.insert(), apart)


def _keyed() -> Callable[[bytes], str]:
    from engine.audit.keys import Signer
    from engine.config import get_settings

    return Signer(get_settings().audit_key).sign


def upgrade() -> None:
    op.create_table(
        "audit_personal",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_personal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_personal_customer_id"), ["customer_id"], unique=False)
    _resign(_plain, _keyed(), set_apart=True)
    from engine.audit import guard

    guard.install(op.get_bind())


def downgrade() -> None:
    from engine.audit import guard

    guard.remove(op.get_bind())
    _resign(_keyed(), _plain, set_apart=False)
    with op.batch_alter_table("audit_personal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_personal_customer_id"))
    op.drop_table("audit_personal")
