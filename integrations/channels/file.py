"""Development channels: write each email as an `.eml` file and each SMS as a JSON file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from engine.clock import Clock, SystemClock
from engine.delivery.channel import OutboundMessage, SendResult
from engine.vocabulary import Channel
from integrations.channels.email_message import build_email, to_wire

DEFAULT_SENDER = "Forewarn <notices@localhost>"


class _FileChannel:
    """Writes each message to `<folder>/<notice_id>.<suffix>`; a redelivered notice overwrites its own file."""

    provider = "file"
    suffix = ""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def _write(self, message: OutboundMessage, data: bytes) -> SendResult:
        path = write_atomically(self.folder / f"{message.notice_id}.{self.suffix}", data)
        return SendResult.sent(provider_id=f"file:{path.name}")

    def close(self) -> None:
        """Nothing to release."""


class FileEmailChannel(_FileChannel):
    """`<outbox_dir>/<notice_id>.eml`, byte for byte what an SMTP relay would receive."""

    name = Channel.EMAIL
    suffix = "eml"

    def __init__(
        self,
        outbox_dir: str | os.PathLike[str],
        *,
        sender: str = DEFAULT_SENDER,
        reply_to: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(outbox_dir)
        self.sender = sender
        self.reply_to = reply_to or None
        self.clock: Clock = clock or SystemClock()

    def send(self, message: OutboundMessage) -> SendResult:
        msg = build_email(message, sender=self.sender, reply_to=self.reply_to, date=self.clock.now())
        # The SMTP policy gives CRLF line endings: the file is byte for byte what a relay would receive.
        return self._write(message, to_wire(msg))


class FileSmsChannel(_FileChannel):
    """`<sms_dir>/<notice_id>.json` with the recipient, text and segment count."""

    name = Channel.SMS
    suffix = "json"

    def __init__(self, sms_dir: str | os.PathLike[str], *, count_segments: Callable[[str], int] | None = None) -> None:
        super().__init__(sms_dir)
        # Segment counting lives in the compose layer; this channel only records what it is told.
        self.count_segments = count_segments

    def send(self, message: OutboundMessage) -> SendResult:
        record = {
            "to": message.recipient,
            "body": message.body,
            "segments": self.count_segments(message.body) if self.count_segments else None,
        }
        return self._write(message, (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def write_atomically(path: Path, data: bytes) -> Path:
    """Write to a temporary file beside `path`, then rename: readers never see half a message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
