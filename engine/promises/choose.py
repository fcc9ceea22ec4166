"""The time a warning promises the customer will hear from us again by.

Chosen from the situation, then made readable and reachable:

1. **When a delivery is next expected.** A parcel with a carrier estimate: shortly after it
   (`ESTIMATE_GRACE`, room for the delivery scan), since the delivery's thank-you is the news and keeps
   the promise; a moving parcel without one: when its carrier's trips as long as this one have mostly
   arrived (`engine.promises.expect`, learned; no later than the kind's longest wait). Used when at
   least `EXPECTED_AFTER` away; the carrier's own date up to three weeks off (`ESTIMATE_LONGEST`).
2. **Otherwise, a wait that grows.** Twice the time the matter has been going on (`Bounds.growth`: the
   parcel's time on the way, or since the customer was first warned), within the kind's bounds — a
   parcel two weeks on the road changes in days, not hours — and not before the order's promise date has
   passed (`DUE_GRACE`): a "no news" before the day it was due tells nothing. A check-in with no news
   promises at least twice the silence before it (`SILENCE_LONGEST`): one lost for weeks is written about
   after a week, two, then four. An outage keeps its update rhythm (2 h, growing to 12 h as it drags on).
3. **Readable.** Rounded up to the next whole hour on the customer's wall clock.
4. **Reachable.** Never inside the customer's quiet hours: a check-in at that time would be a text that
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
    growth: float  # the wait promised, as a multiple of the time the matter has been open


# An outage's update rhythm (engine.detection.outages.rule.UPDATE_EVERY, which imports the planner: a test
# keeps the two equal).
OUTAGE_RHYTHM = timedelta(hours=2)
ORDER_HORIZON = Bounds(timedelta(hours=24), timedelta(days=7), growth=2.0)
OUTAGE_HORIZON = Bounds(OUTAGE_RHYTHM, timedelta(hours=12), growth=1.0)
# An expected event is promised from when it comes at least this long after the message (an earlier one
# would promise a check-in within the hour).
EXPECTED_AFTER = timedelta(hours=6)
# Room after the carrier's estimate for its delivery scan (and our thank-you) to arrive: a parcel out for
# delivery on the estimated day is often scanned in the evening.
ESTIMATE_GRACE = timedelta(hours=12)
# A check-in with no news waits until this long after the order's promise date.
DUE_GRACE = timedelta(hours=24)
# A carrier's estimate further off than this is not promised from (the longest wait is, and news sooner).
ESTIMATE_LONGEST = timedelta(days=21)
# A check-in with no news promises at least twice the silence before it (a week, then two, then four), up
# to this: a parcel lost for a month is not news every week, and a customer told "no news yet" four times
# in a row hears it less often rather than as a form letter. News (a scan, a delivery) is sent at once.
SILENCE_LONGEST = timedelta(days=28)


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
    likely: datetime | None = None,
    due: datetime | None = None,
    earliest: datetime | None = None,
    silence: timedelta | None = None,
) -> datetime:
    """The promise for a warning that reaches the customer at `after` (its latest channel's send time).

    `estimate`: the carrier's delivery estimate, if the parcel has one; `likely`: when it is likely
    delivered by, as learned (`engine.promises.expect`); `due`: the order's promise date;
    `quiet`: the customer's quiet window (their own, or the deployment's); `earliest`: no sooner than this
    (when the daily limit lets the next message go); `silence`: for a check-in with no news, how long the
    thread had been quiet before it."""
    target = expected(kind, after=after, estimate=estimate, likely=likely) or after + wait(
        kind, opened_at, after, due=due, silence=silence
    )
    if earliest is not None:
        target = max(target, earliest)
    return defer(whole_hour(target, timezone), timezone=timezone, window=quiet)


def wait(
    kind: SituationKind,
    opened_at: datetime,
    after: datetime,
    *,
    due: datetime | None = None,
    silence: timedelta | None = None,
) -> timedelta:
    """How long to promise when no delivery is expected: it grows with the time the matter has been going
    on, and lasts past the order's promise date (`due`); after a check-in's silence, at least twice it
    (`SILENCE_LONGEST`; an outage keeps its rhythm)."""
    limits = bounds(kind)
    grown = max((after - opened_at) * limits.growth, limits.shortest)
    if kind == SituationKind.SERVICE_DISRUPTION:
        return min(grown, limits.longest)
    if due is not None:
        grown = max(grown, due + DUE_GRACE - after)
    grown = min(grown, limits.longest)
    return max(grown, min(2 * silence, SILENCE_LONGEST)) if silence is not None else grown


def expected(
    kind: SituationKind, *, after: datetime, estimate: datetime | None, likely: datetime | None = None
) -> datetime | None:
    """When a delivery is next expected (with room for it to reach us), if that makes a promise."""
    if kind == SituationKind.SERVICE_DISRUPTION:
        return None  # an outage's news comes from its status page, on its update rhythm
    soonest = after + EXPECTED_AFTER  # a moment already passed (or nearly) says nothing more
    if estimate is not None and soonest <= estimate + ESTIMATE_GRACE <= after + ESTIMATE_LONGEST:
        return estimate + ESTIMATE_GRACE  # the customer has the carrier's date: a "no news" before it says nothing
    if likely is not None and likely >= soonest:
        return min(likely, after + bounds(kind).longest)  # a guess from history: no longer than the longest wait
    return None


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
    likely: datetime | None = None,
    due: datetime | None = None,
) -> datetime:
    """A warning that waited (the daily limit held it) goes out with a promise still worth making: its own
    while at least half the kind's shortest wait is left, else a new one chosen as of `now`."""
    if promise >= now + bounds(kind).shortest / 2:
        return promise
    return choose(  # on the same grounds as at first
        kind=kind,
        opened_at=opened_at,
        after=now,
        timezone=timezone,
        quiet=quiet,
        estimate=estimate,
        likely=likely,
        due=due,
    )
