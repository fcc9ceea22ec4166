"""promises: every warning says when the customer will hear again, and the engine keeps it

`notices.next_update_at` is the time a message told the customer they would hear again by;
`situations.next_update_at` the promise outstanding on the customer's thread, which the scheduler's
promise keeper looks up (indexed) to send a check-in when it comes with nothing newer sent.

Revision ID: d4e5f6a70014
Revises: c1d2e3f40013
Create Date: 2026-12-14 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.db

revision: str = "d4e5f6a70014"
down_revision: str | None = "c1d2e3f40013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_update_at", engine.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("situations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_update_at", engine.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_situations_next_update_at"), ["next_update_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("situations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_situations_next_update_at"))
        batch_op.drop_column("next_update_at")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("next_update_at")
