"""suppression kind: an opt-out (the person said no) or an undeliverable address (it cannot receive)

Before, staff-facing wording was derived from the provider's error code in the reason text; the kind is
now recorded when the address is suppressed, and the existing rows are classified once, here: SMTP's
refusals and Twilio's 21211/21614 ("not a valid phone number", "not a mobile number") are
undeliverable, everything else (STOPs, Twilio's 21610, migrated opt-outs) an opt-out.

Revision ID: b8d4f6e2c005
Revises: a7c3e5d1b004
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8d4f6e2c005"
down_revision: str | None = "a7c3e5d1b004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_suppressions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="opt_out"))
    op.execute(
        "UPDATE channel_suppressions SET kind = 'undeliverable'"
        " WHERE source = 'smtp' OR reason LIKE 'twilio 21211%' OR reason LIKE 'twilio 21614%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("channel_suppressions", schema=None) as batch_op:
        batch_op.drop_column("kind")
