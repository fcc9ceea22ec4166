"""event key with content digest: an inbound event is stored once per (source, id, content)

Feeds such as EasyPost reuse one event id for a tracker's successive states (`in_transit`, then
`delivered`). `inbound_events.external_id` now holds the feed's id, '#', and 16 hex digits of the
content's SHA-256 (engine.inbound.service.delivery_key), so a different state under the same id is a new
event and only a true redelivery is a repeat. The column widens from 200 to 220 characters; rows stored
before keep their plain id (a redelivery of one of them after the upgrade is applied again, which the
state's "older scans never win" makes harmless).

Revision ID: f6a7b8c90016
Revises: c1d2e3f40013
Create Date: 2026-12-14 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a7b8c90016"
down_revision: str | None = "e5f6a7b80015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch:
        batch.alter_column("external_id", existing_type=sa.String(200), type_=sa.String(220), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch:
        batch.alter_column("external_id", existing_type=sa.String(220), type_=sa.String(200), existing_nullable=False)
