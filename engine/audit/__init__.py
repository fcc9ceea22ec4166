"""Tamper-evident audit log: every accepted event, decision and staff action, hash-chained."""

from engine.audit.log import append, entry_hash, sole_writer
from engine.audit.verify import VerifyResult, verify_chain

__all__ = ["VerifyResult", "append", "entry_hash", "sole_writer", "verify_chain"]
