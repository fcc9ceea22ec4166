"""delivery suppressions and caps

Number- and address-level suppressions replace the per-customer SMS opt-out flag (a STOP now holds for
every customer with that number, later ones too); notices merged by the daily cap point at the notice
that carried them.

Revision ID: d5e1a0c0f002
Revises: 7dda65a820ce
Create Date: 2026-11-26 12:57:36.126314
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import engine.db
from engine.clock import SystemClock
import sqlmodel

revision: str = 'd5e1a0c0f002'
down_revision: str | None = '7dda65a820ce'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MERGED_FK = 'fk_notices_merged_into_notices'
# The flag did not say whether the customer texted STOP or Twilio answered 21610; both mean "do not text".
CARRIED_OVER = 'opted out of SMS before suppressions were per number (STOP or Twilio 21610)'


def _phone(raw: str) -> str:
    # Frozen copy of engine.suppressions.addresses.normalize_phone as of this revision.
    digits = re.sub(r'[\s().\-/]', '', raw.strip())
    return '+' + digits[2:] if digits.startswith('00') else digits


def upgrade() -> None:
    suppressions = op.create_table('channel_suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'address', name='uq_channel_suppressions_channel_address')
    )
    customers = sa.table('customers', sa.column('phone', sa.String), sa.column('sms_opted_out', sa.Boolean))
    rows = op.get_bind().execute(
        sa.select(customers.c.phone).where(customers.c.sms_opted_out.is_(True), customers.c.phone.is_not(None))
    )
    now = SystemClock().now()  # a migration runs outside any runtime: the real clock
    numbers = sorted({_phone(phone) for (phone,) in rows if phone and phone.strip()})
    if numbers:
        op.bulk_insert(
            suppressions,
            [
                {'channel': 'sms', 'address': n, 'reason': CARRIED_OVER, 'source': 'migration', 'created_at': now}
                for n in numbers
            ],
        )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('sms_opted_out')

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notices_merged_into'), ['merged_into'], unique=False)
        batch_op.create_foreign_key(MERGED_FK, 'notices', ['merged_into'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(MERGED_FK, type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notices_merged_into'))
        batch_op.drop_column('merged_into')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_opted_out', sa.Boolean(), nullable=False, server_default=sa.false()))

    # Back to the per-customer flag: whoever has a suppressed number, in any spelling, is opted out.
    bind = op.get_bind()
    suppressed = {
        address
        for (address,) in bind.execute(sa.text("SELECT address FROM channel_suppressions WHERE channel = 'sms'"))
    }
    customers = sa.table('customers', sa.column('id', sa.String), sa.column('phone', sa.String),
                         sa.column('sms_opted_out', sa.Boolean))
    rows = bind.execute(sa.select(customers.c.id, customers.c.phone).where(customers.c.phone.is_not(None)))
    opted_out = sorted(cid for cid, phone in rows if _phone(phone) in suppressed)
    if opted_out:
        bind.execute(customers.update().where(customers.c.id.in_(opted_out)).values(sms_opted_out=True))
    op.drop_table('channel_suppressions')
