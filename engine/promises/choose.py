"""The time a warning promises the customer will hear from us again by.

Chosen from the situation, then made readable and reachable:

1. **How long until news is likely.** An order or a parcel: a day (`ORDER_HORIZON`), or the carrier's own
   estimate when it falls sooner than that cap (a delivery, or its absence, is news: the thank-you or a
   check-in). An outage: its update rhythm (2 h, as its updates go). The longer a matter has been open, the
   longer the wait we promise (the time it has been open, within the kind's bounds), so a parcel lost for
   a week is not a daily "no news yet".
2. **Readable.** Rounded up to the next whole hour on the customer's wall clock.
3. **Reachable.** Never inside the customer's quiet hours: a check-in at that time would be a text that
   has to wait for the morning (and an email at 3 a.m. reads no better). A promise falling in the night
   moves to the end of the window, through `engine.policy.quiet_hours.defer` (zoneinfo; a DST gap lands
   just after it).

Pure: no database, no clock (`now` is given), so a fan-out's thousands cost a few conversions each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from engine.policy.quiet_hours import defer, zone
from engine.vocabulary import WARNING_STAGES, SituationKind, Stage


@dataclass(frozen=True)
class Bounds:
    shortest: timedelta  # the soonest we promise to write again
    longest: timedelta  # the latest (however long it has been open)


# An outage's update rhythm (engine.detection.outages.rule.UPDATE_EVERY, which imports the planner: a test
# keeps the two equal).
OUTAGE_RHYTHM = timedelta(hours=2)
ORDER_HORIZON = Bounds(timedelta(hours=24), timedelta(hours=72))
OUTAGE_HORIZON = Bounds(OUTAGE_RHYTHM, timedelta(hours=12))
# A carrier estimate is used when it comes at least this long after the message (an earlier one would
# promise a check-in within the hour) and within the kind's longest wait.
ESTIMATE_AFTER = timedelta(hours=6)
# Room after the carrier's estimate for its delivery scan (and our thank-you) to arrive.
ESTIMATE_GRACE = timedelta(hours=2)


def bounds(kind: SituationKind) -> Bounds:
    return OUTAGE_HORIZON if kind == SituationKind.SERVICE_DISRUPTION else ORDER_HORIZON


def promises(stage: Stage) -> bool:
    """A warning (initial or update, a check-in among them) says when we'll write again; the thank-you
    and a digest do not (the matter is over, or each thread keeps its own)."""
    return stage in WARNING_STAGES


def choose(
    *,
    kind: SituationKind,
    opened_at: datetime,
    after: datetime,
    timezone: str | None,
    quiet: tuple[time, time] | str,
    estimate: datetime | None = None,
    earliest: datetime | None = None,
) -> datetime:
    """The promise for a warning that reaches the customer at `after` (its latest channel's send time).

    `estimate`: the carrier's delivery estimate, if the parcel has one; `quiet`: the customer's quiet
    window (their own, or the deployment's); `earliest`: no sooner than this (when the daily limit lets
    the next message go)."""
    limits = bounds(kind)
    wait = min(max(after - opened_at, limits.shortest), limits.longest)
    target = after + wait
    if estimate is not None and after + ESTIMATE_AFTER <= estimate + ESTIMATE_GRACE < target:
        target = estimate + ESTIMATE_GRACE
    if earliest is not None:
        target = max(target, earliest)
    return defer(whole_hour(target, timezone), timezone=timezone, window=quiet)


def whole_hour(moment: datetime, timezone: str | None) -> datetime:
    """The next whole hour on the customer's wall clock at or after `moment` ("by 3:00 PM", not 2:47)."""
    local = moment.astimezone(zone(timezone))
    past = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    # Added to the instant, not the wall clock: an hour that a DST change skips or repeats stays an hour.
    return (moment + (timedelta(hours=1) - past if past else timedelta())).astimezone(UTC)


def renewed(
    promise: datetime,
    *,
    now: datetime,
    kind: SituationKind,
    opened_at: datetime,
    timezone: str | None,
    quiet: tuple[time, time] | str,
    estimate: datetime | None = None,
) -> datetime:
    """A warning that waited (the daily limit held it) goes out with a promise still worth making: its own
    while at least half the kind's shortest wait is left, else a new one chosen as of `now`."""
    if promise >= now + bounds(kind).shortest / 2:
        return promise
    return choose(kind=kind, opened_at=opened_at, after=now, timezone=timezone, quiet=quiet, estimate=estimate)
