"""The chain's head, written down outside the database on a schedule, so that a shortened or re-chained
log no longer matches what was seen before.

The active scheduler appends a line to `FOREWARN_AUDIT_CHECKPOINT_FILE` each tick the head has moved:
`{"seq", "hash", "at", "mac"}`, the MAC under the audit key (a line cannot be edited to match a shorter
chain without it). `forewarn audit verify` then requires every checkpointed entry to exist with that
hash: deleting the newest entries, or re-chaining from anywhere before a checkpoint (even with the key),
is caught. Keep the file where the database's users cannot write: another volume, an append-only file
(`chattr +a`), or shipped off the machine by the log collector (docs/deploy.md).
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from engine.audit.canonical import canonical_json
from engine.audit.keys import Signer, signer_for
from engine.clock import format_instant, parse_instant
from engine.models import AuditEntry

if TYPE_CHECKING:
    from engine.runtime import Runtime

_LAST = "forewarn.audit_checkpoint"  # rt.memo: the seq this process last wrote
_TAIL_BYTES = 4096


class CheckpointError(ValueError):
    """A checkpoint line that is not one this key wrote."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    line: int = 0  # where in the file (1-based), for the message


def write_checkpoint(rt: Runtime) -> Checkpoint | None:
    """The scheduler's step: append the head if it moved since the last line (None when it did not)."""
    path = Path(rt.settings.audit_checkpoint_file)
    with Session(rt.db) as session:
        head = session.exec(
            select(AuditEntry.seq, AuditEntry.hash).order_by(col(AuditEntry.seq).desc()).limit(1)
        ).first()
    if head is None:
        return None
    last = rt.memo.get(_LAST)
    if last is None:
        last = _last_seq(path)
    if last == head[0]:
        return None
    signer = signer_for(rt.db)
    point = Checkpoint(seq=head[0], hash=head[1], at=rt.clock.now())
    body = {"seq": point.seq, "hash": point.hash, "at": format_instant(point.at)}
    line = json.dumps({**body, "mac": signer.sign(canonical_json(body).encode("utf-8"))}) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    rt.memo[_LAST] = point.seq
    return point


def read_checkpoints(path: Path, signer: Signer) -> list[Checkpoint]:
    """Every line of the file, each checked against its MAC; CheckpointError names the first bad one."""
    if not path.exists():
        return []
    found = []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                found.append(_parse(text, signer, number))
    return found


def _parse(text: str, signer: Signer, number: int) -> Checkpoint:
    try:
        record = json.loads(text)
        seq, digest, stamp, mac = int(record["seq"]), str(record["hash"]), str(record["at"]), str(record["mac"])
        at = parse_instant(stamp)
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"checkpoint line {number} is not readable") from None
    body = {"seq": seq, "hash": digest, "at": stamp}
    if not hmac.compare_digest(signer.sign(canonical_json(body).encode("utf-8")), mac):
        raise CheckpointError(f"checkpoint line {number} is not signed with this audit key (edited, or another key)")
    return Checkpoint(seq=seq, hash=digest, at=at, line=number)


def _last_seq(path: Path) -> int | None:
    """The seq on the file's last line (read from its end: the file grows for as long as the log does)."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - _TAIL_BYTES))
        lines = [line for line in handle.read().splitlines() if line.strip()]
    try:
        return int(json.loads(lines[-1])["seq"]) if lines else None
    except (ValueError, KeyError, TypeError):
        return None
