"""Email HTML shown inside the console, each in its own sandboxed frame.

A preview's HTML is kept here for a few minutes under a random name and served at
`/ops/templates/frame/{name}` with a policy of its own: no scripts at all, inline styles allowed (emails
are styled inline), framed only by the console. The console page itself keeps its strict policy. The store
lives in the serving process (`forewarn serve` is one), bounded in size and age.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

FRAME_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data: https: http:; frame-ancestors 'self'"
_MAX_FRAMES = 500
_LIFETIME_SECONDS = 30 * 60


class FrameStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: OrderedDict[str, tuple[float, int | None, str]] = OrderedDict()

    def put(self, html: str, *, owner: int | None) -> str:
        name = secrets.token_urlsafe(16)
        # time.monotonic ages a cache entry; it is not business time, so the engine clock is not used.
        with self._lock:
            self._frames[name] = (time.monotonic(), owner, html)
            while len(self._frames) > _MAX_FRAMES:
                self._frames.popitem(last=False)
        return name

    def get(self, name: str, *, owner: int | None) -> str | None:
        with self._lock:
            found = self._frames.get(name)
        if found is None or found[1] != owner or time.monotonic() - found[0] > _LIFETIME_SECONDS:
            return None
        return found[2]


FRAMES = FrameStore()
