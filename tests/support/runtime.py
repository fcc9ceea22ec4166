"""A test runtime: real channels for the settings, templates re-read at once, seeds loaded."""

from __future__ import annotations

from engine.clock import SimulatedClock
from engine.compose.store import TemplateStore, seed_templates
from engine.config import Settings
from engine.db import make_engine
from engine.runtime import Runtime
from integrations.channels import build_callbacks, build_channels


def seeded_runtime(settings: Settings, clock: SimulatedClock) -> Runtime:
    runtime = Runtime(
        settings=settings,
        db=make_engine(settings.database_url, pool_size=4),
        clock=clock,
        templates=TemplateStore(recheck_seconds=0),
        channels=build_channels(settings, clock),
        callbacks=build_callbacks(settings),
    )
    with runtime.unit_of_work() as session:
        seed_templates(session, now=clock.now())
    return runtime
