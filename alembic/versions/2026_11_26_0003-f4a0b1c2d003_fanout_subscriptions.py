"""fan-out at scale: customer_components subscription table, notices.recipient index

Revision ID: f4a0b1c2d003
Revises: 7dda65a820ce
Create Date: 2026-11-26 13:00:00.000000

`customer_components` mirrors `customers.components` one row per (customer, component), so an outage
fan-out finds a component's subscribers with an index range scan; existing customers are copied in.
`ix_notices_recipient` lets the planner ask "has this number been texted before?" without a table scan.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import sqlmodel

revision: str = "f4a0b1c2d003"
down_revision: str | None = "d5e1a0c0f002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Component names longer than a service component's name (128) can never go down, so they are not copied.
_BACKFILL = {
    "postgresql": """
        INSERT INTO customer_components (customer_id, component)
        SELECT DISTINCT c.id, e.value
        FROM customers c CROSS JOIN LATERAL json_array_elements_text(c.components::json) AS e(value)
        WHERE json_typeof(c.components::json) = 'array' AND length(e.value) BETWEEN 1 AND 128
        ON CONFLICT DO NOTHING
    """,
    "sqlite": """
        INSERT OR IGNORE INTO customer_components (customer_id, component)
        SELECT DISTINCT c.id, e.value
        FROM customers c, json_each(c.components) AS e
        WHERE json_type(c.components) = 'array' AND e.type = 'text' AND length(e.value) BETWEEN 1 AND 128
    """,
}


def upgrade() -> None:
    op.create_table(
        "customer_components",
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("component", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("customer_id", "component"),
    )
    with op.batch_alter_table("customer_components", schema=None) as batch_op:
        batch_op.create_index("ix_customer_components_component", ["component", "customer_id"], unique=False)
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_recipient"), ["recipient"], unique=False)
    backfill = _BACKFILL.get(op.get_bind().dialect.name)
    if backfill is not None:
        op.execute(backfill)


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_recipient"))
    with op.batch_alter_table("customer_components", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_components_component")
    op.drop_table("customer_components")
