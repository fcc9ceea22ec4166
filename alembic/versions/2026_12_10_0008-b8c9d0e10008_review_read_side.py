"""the review side: find notices by a customer's email, list the audit log by actor, when each attempt was claimed

`ix_customers_email`: staff look a notice up by the customer's email; without it each search read every
customer (120 ms on 200,000). `ix_audit_entries_actor`: "what did this person do" is a handful of
entries among millions. `delivery_attempts.claimed_at`: when the worker took the notice for this attempt
(the notice row keeps only the last claim), so a notice's timeline shows each claim and its answer.

Revision ID: b8c9d0e10008
Revises: b8d4f6e2c005
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision: str = "b8c9d0e10008"
down_revision: str | None = "a7b8c9d00007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_email"), ["email"], unique=False)
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_actor"), ["actor"], unique=False)
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_actor"))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_email"))
