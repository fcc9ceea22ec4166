"""care and links: care_tasks, remedy_codes, orders.order_url / tracking_url

Revision ID: e5f6a7b80015
Revises: c1d2e3f40013
Create Date: 2026-12-14 00:15:00.000000

A care task is a person's follow-up the engine opened (a stalled, lost or damaged parcel; a customer's
third problem within 30 days); a remedy code is one of the pool staff load, claimed once. The order keeps
the links a feed gave for it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from engine.db import UTCDateTime

revision: str = "e5f6a7b80015"
down_revision: str | None = "d4e5f6a70014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("situation_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["situation_id"], ["situations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("care_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_tasks_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_tasks_situation_id"), ["situation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_tasks_status"), ["status"], unique=False)
    op.create_table(
        "remedy_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("situation_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_remedy_codes_code"),
    )
    with op.batch_alter_table("remedy_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remedy_codes_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_remedy_codes_situation_id"), ["situation_id"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column("tracking_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("tracking_url")
        batch_op.drop_column("order_url")
    op.drop_table("remedy_codes")
    op.drop_table("care_tasks")
