"""GET /api/dashboard: the numbers on the console's front page, and its chart as SVG text."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import HTTPException, Query

from engine.api.deps import RuntimeDep, SessionDep
from engine.api.roles import viewer_router
from engine.read.dashboard import dashboard

ZONES = sorted(available_timezones())
router = viewer_router("dashboard")


@router.get("/dashboard", summary="Dashboard numbers")
def get_dashboard(
    rt: RuntimeDep,
    session: SessionDep,
    tz: Annotated[
        str,
        Query(
            max_length=64,
            description="the zone whose days are counted (IANA name)",
            json_schema_extra={"enum": ZONES},  # the names this machine's zone database knows, exactly
        ),
    ] = "UTC",
) -> dict[str, Any]:
    """Notices today and over 7 days by situation and channel, delivery, failure and opt-out rates, the
    median proactive lead time, situations open now, and `chart_svg` (the week by channel)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(400, f"tz must be an IANA time zone such as Europe/London, got {tz!r}") from None
    return dashboard(session, now=rt.clock.now(), zone=zone)
