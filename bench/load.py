"""A small HTTP/1.1 load generator: keep-alive connections, each sending its share of prepared requests one
after another and reading each answer whole. Plain asyncio streams, so the client costs little next to the
server it measures (httpx would be the bottleneck on two cores before a bare FastAPI endpoint is)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def wire(self, host: str) -> bytes:
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(self.body)}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    statuses: Counter[int]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _connection(host: str, port: int, wires: Sequence[bytes], statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for wire in wires:
            writer.write(wire)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            statuses[int(status_line.split()[1])] += 1
    finally:
        writer.close()


def run(host: str, port: int, requests: Sequence[Request], *, connections: int) -> Result:
    """Send every request over `connections` keep-alive connections; time from the first byte to the last
    answer."""
    wires = [r.wire(f"{host}:{port}") for r in requests]
    shares = [wires[i::connections] for i in range(connections)]
    statuses: Counter[int] = Counter()

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(_connection(host, port, share, statuses) for share in shares if share))
        return time.perf_counter() - started

    seconds = asyncio.run(main())
    return Result(len(requests), seconds, statuses)
