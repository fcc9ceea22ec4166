"""incident threads due: big incidents update or resolve their threads a page per transaction

`incidents.threads_due_at` marks an incident whose open threads still await its latest news after the
first page was handled in the status event's own transaction; the `incidents.sync_threads` job (and the
scheduler, for a lost job) does the rest, one page per transaction.

Revision ID: a7c3e5d1b004
Revises: f4a0b1c2d003
Create Date: 2026-11-26 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "a7c3e5d1b004"
down_revision: str | None = "f4a0b1c2d003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("threads_due_at", engine.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("threads_due_at")
