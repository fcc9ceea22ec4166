"""The database refuses to change the audit log: UPDATE, DELETE (and on PostgreSQL TRUNCATE) on
`audit_entries` raise, whoever runs them through the application's connection.

A trigger stops the application, a bug or an injected statement; the table's owner can still disable
it, which is what the HMAC chain and the checkpoints outside the database are for. Run the services as
a role that does not own the tables (docs/deploy.md). Installed by migration 0013.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION forewarn_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION forewarn_audit_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION forewarn_audit_append_only()",
)
_SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: {verb} refused'); END"
    for verb in ("UPDATE", "DELETE")
)
_NAMES = {
    "postgresql": ("audit_entries_append_only", "audit_entries_no_truncate"),
    "sqlite": ("audit_entries_no_update", "audit_entries_no_delete"),
}


def install(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_FUNCTION))
        statements: tuple[str, ...] = _PG_TRIGGERS
    else:
        statements = _SQLITE_TRIGGERS
    for statement in statements:
        connection.execute(text(statement))


def remove(connection: Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    for name in _NAMES["postgresql" if postgres else "sqlite"]:
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name}" + (" ON audit_entries" if postgres else "")))
    if postgres:
        connection.execute(text("DROP FUNCTION IF EXISTS forewarn_audit_append_only()"))
