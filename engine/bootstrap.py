"""Build a Runtime from settings: the one place that wires adapters to the engine."""

from __future__ import annotations

from engine.clock import Clock, SystemClock
from engine.compose.store import TemplateStore
from engine.config import Settings
from engine.db import make_engine
from engine.runtime import Runtime


def build_runtime(settings: Settings, *, clock: Clock | None = None, with_channels: bool = True) -> Runtime:
    from integrations.channels import build_channels

    real_clock = clock or SystemClock()
    rt = Runtime(
        settings=settings,
        db=make_engine(settings.database_url, pool_size=max(5, settings.worker_threads + 2)),
        clock=real_clock,
        templates=TemplateStore(),
    )
    if with_channels:
        rt.channels = dict(build_channels(settings, real_clock))
    return rt
