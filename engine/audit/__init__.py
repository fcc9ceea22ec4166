"""Tamper-evident audit log: every accepted event, decision and staff action, hash-chained."""

from engine.audit.log import Entry, append, append_many, entry_hash, forget_cached_head, sole_writer
from engine.audit.verify import VerifyResult, verify_chain

__all__ = [
    "Entry",
    "VerifyResult",
    "append",
    "append_many",
    "entry_hash",
    "forget_cached_head",
    "sole_writer",
    "verify_chain",
]
