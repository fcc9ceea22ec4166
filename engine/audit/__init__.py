"""Tamper-evident audit log: every accepted event, decision and staff action, chained under a key."""

from engine.audit.log import Entry, append, append_many, entry_hash, forget_cached_head, record, sole_writer
from engine.audit.personal import Personal
from engine.audit.verify import VerifyResult, verify_chain

__all__ = [
    "Entry",
    "Personal",
    "VerifyResult",
    "append",
    "append_many",
    "entry_hash",
    "forget_cached_head",
    "record",
    "sole_writer",
    "verify_chain",
]
