"""staff console: staff sign-in (sessions, lockout, TOTP, personal API tokens), template versions, and the
version each notice was rendered with

Templates move from one row per part with an active version number (`templates`, `template_versions`) to
one row per version of a whole channel's words (`message_versions`: draft → published → superseded). The
published parts of each (situation, stage, channel, locale) become its version 1, authored by whoever wrote
the newest of those parts; older per-part history is not carried over (it had no drafts or publishes).

Revision ID: a7b8c9d00007
Revises: b8d4f6e2c005
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import engine.db

revision: str = "a7b8c9d00007"
down_revision: str | None = "f1a2b3c40006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTS_BY_CHANNEL = {"email": ("subject", "text", "html"), "sms": ("sms",)}

versions_table = sa.table(
    "message_versions",
    sa.column("situation", sa.String),
    sa.column("stage", sa.String),
    sa.column("channel", sa.String),
    sa.column("locale", sa.String),
    sa.column("number", sa.Integer),
    sa.column("status", sa.String),
    sa.column("parts", sa.JSON),
    sa.column("author", sa.String),
    sa.column("note", sa.String),
    sa.column("findings", sa.JSON),
    sa.column("created_at", engine.db.UTCDateTime),
    sa.column("published_by", sa.String),
    sa.column("published_at", engine.db.UTCDateTime),
)


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column("totp_secret", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_login_at", engine.db.UTCDateTime(), nullable=True))

    op.create_table(
        "staff_sessions",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", engine.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", engine.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("staff_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "message_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("situation", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("approved_at", engine.db.UTCDateTime(), nullable=True),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("published_at", engine.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("situation", "stage", "channel", "locale", "number", name="uq_message_versions_number"),
    )
    with op.batch_alter_table("message_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_versions_key", ["situation", "stage", "channel", "locale", "status"], unique=False
        )

    _copy_published_templates()
    with op.batch_alter_table("template_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_versions_template_id"))
    op.drop_table("template_versions")
    op.drop_table("templates")

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_version_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_notices_template_version_id"), ["template_version_id"], unique=False)


def _copy_published_templates() -> None:
    bind = op.get_bind()
    # Typed tables, so each dialect hands back real datetimes (SQLite stores text).
    old = sa.table(
        "templates",
        sa.column("id", sa.Integer),
        sa.column("situation", sa.String),
        sa.column("stage", sa.String),
        sa.column("part", sa.String),
        sa.column("locale", sa.String),
        sa.column("active_version", sa.Integer),
    )
    old_versions = sa.table(
        "template_versions",
        sa.column("template_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("source", sa.Text),
        sa.column("author", sa.String),
        sa.column("created_at", engine.db.UTCDateTime),
    )
    rows = bind.execute(
        sa.select(
            old.c.situation, old.c.stage, old.c.part, old.c.locale,
            old_versions.c.source, old_versions.c.author, old_versions.c.created_at,
        ).join(
            old_versions,
            (old_versions.c.template_id == old.c.id) & (old_versions.c.version == old.c.active_version),
        )
    ).all()
    parts: dict[tuple[str, str, str], dict[str, tuple[str, str, object]]] = {}
    for situation, stage, part, locale, source, author, created_at in rows:
        parts.setdefault((situation, stage, locale), {})[part] = (source, author, created_at)
    now = datetime.now(UTC)  # noqa: DTZ005 - a migration runs outside the engine; only when no part has a time
    inserts = []
    for (situation, stage, locale), found in sorted(parts.items()):
        for channel, needed in PARTS_BY_CHANNEL.items():
            if not all(part in found for part in needed):
                continue
            newest = max((found[part] for part in needed), key=lambda item: str(item[2]))
            created = newest[2] or now
            inserts.append(
                {
                    "situation": situation,
                    "stage": stage,
                    "channel": channel,
                    "locale": locale,
                    "number": 1,
                    "status": "published",
                    "parts": {part: found[part][0] for part in needed},
                    "author": newest[1],
                    "note": "migrated",
                    "findings": [],
                    "created_at": created,
                    "published_by": newest[1],
                    "published_at": created,
                }
            )
    if inserts:
        op.bulk_insert(versions_table, inserts)


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_template_version_id"))
        batch_op.drop_column("template_version_id")

    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("situation", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("part", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("situation", "stage", "part", "locale", name="uq_templates_key"),
    )
    op.create_table(
        "template_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["template_id"], ["templates.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("template_id", "version", name="uq_template_versions_version"),
    )
    with op.batch_alter_table("template_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_template_versions_template_id"), ["template_id"], unique=False)
    # The published words go back as each part's version 1; drafts and history have nowhere to go.
    bind = op.get_bind()
    published = bind.execute(
        sa.select(versions_table).where(versions_table.c.status == "published")
    ).mappings().all()
    templates = sa.table(
        "templates",
        sa.column("id", sa.Integer),
        sa.column("situation", sa.String),
        sa.column("stage", sa.String),
        sa.column("part", sa.String),
        sa.column("locale", sa.String),
        sa.column("active_version", sa.Integer),
        sa.column("updated_at", engine.db.UTCDateTime),
    )
    versions = sa.table(
        "template_versions",
        sa.column("template_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("source", sa.Text),
        sa.column("author", sa.String),
        sa.column("created_at", engine.db.UTCDateTime),
    )
    next_id = 1
    for row in published:
        for part, source in row["parts"].items():
            op.bulk_insert(
                templates,
                [
                    {
                        "id": next_id,
                        "situation": row["situation"],
                        "stage": row["stage"],
                        "part": part,
                        "locale": row["locale"],
                        "active_version": 1,
                        "updated_at": row["published_at"] or row["created_at"],
                    }
                ],
            )
            op.bulk_insert(
                versions,
                [
                    {
                        "template_id": next_id,
                        "version": 1,
                        "source": source,
                        "author": row["author"],
                        "created_at": row["created_at"],
                    }
                ],
            )
            next_id += 1

    with op.batch_alter_table("message_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_message_versions_key")
    op.drop_table("message_versions")
    with op.batch_alter_table("staff_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_tokens_user_id"))
    op.drop_table("staff_tokens")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_user_id"))
    op.drop_table("staff_sessions")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("phone")
