"""The domain's words, defined once: channels, stages, statuses, situation kinds and feed sources.

Each is a `StrEnum`: a member is its string (`Channel.SMS == "sms"`, and hashes alike), so rows,
JSON and audit details hold the plain words staff and outside checks rely on (DESIGN §4), while the
code says which word it means and mypy checks it. Columns holding them read back as members
(`engine.db.Vocabulary`).
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a customer is reached; one adapter each in `integrations/channels/`."""

    EMAIL = "email"
    SMS = "sms"


class Stage(StrEnum):
    """Where a notice stands in its thread (DESIGN §4)."""

    INITIAL = "initial"  # the thread's first warning
    UPDATE = "update"  # news about a matter the customer was warned about
    RESOLVED = "resolved"  # the follow-up once it is over
    MERGED = "merged"  # a digest: several threads' news in one message (the daily limit)


# A warning tells of a problem (and counts as telling the customer); the other stages answer one.
WARNING_STAGES: frozenset[Stage] = frozenset({Stage.INITIAL, Stage.UPDATE})


class NoticeStatus(StrEnum):
    PENDING = "pending"  # waiting for send_at, or queued for a worker
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    FAILED = "failed"  # the provider refused it for good
    DROPPED = "dropped"  # no longer worth sending (the problem was fixed before it went out)
    MERGED = "merged"  # went out inside another notice (`merged_into`): the daily cap merged them


# Out, or on its way: what the customer has (or is about to have) read.
LIVE: frozenset[NoticeStatus] = frozenset({NoticeStatus.PENDING, NoticeStatus.SENDING, NoticeStatus.SENT})
# Handed to the provider (or being handed right now): what a follow-up may answer.
REACHED: frozenset[NoticeStatus] = frozenset({NoticeStatus.SENDING, NoticeStatus.SENT})


class SituationKind(StrEnum):
    """What a customer experiences; each detection rule declares the kinds it raises
    (`engine.detection.rules`), and templates exist for each."""

    ORDER_LATE_TO_SHIP = "order.late_to_ship"
    SHIPMENT_DELAYED = "shipment.delayed"
    SHIPMENT_EXCEPTION = "shipment.exception"
    SHIPMENT_STALLED = "shipment.stalled"
    SERVICE_DISRUPTION = "service.disruption"
    # Not a situation of its own: the message that carries several threads' news (Stage.MERGED).
    DIGEST = "digest"


class SituationStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class CareTaskStatus(StrEnum):
    """A care task (engine.care.tasks): a person follows up until the situation resolves."""

    OPEN = "open"
    CLOSED = "closed"


class FeedSource(StrEnum):
    """Where a stored event came from: a webhook feed, or the engine's own replay and demo."""

    SHOPIFY = "shopify"
    EASYPOST = "easypost"
    AFTERSHIP = "aftership"
    STATUSPAGE = "statuspage"
    ALERTMANAGER = "alertmanager"
    PAGERDUTY = "pagerduty"
    EVENTS = "events"  # the canonical JSON feed
    REPLAY = "replay"
    DEMO = "demo"

    @property
    def signed(self) -> bool:
        """Signs its body with a shared secret (FOREWARN_WEBHOOK_SECRET_<SOURCE>); the others send a
        token (FOREWARN_WEBHOOK_TOKEN_<SOURCE>)."""
        return self not in _TOKEN_FEEDS


_TOKEN_FEEDS = frozenset({FeedSource.STATUSPAGE, FeedSource.ALERTMANAGER})
# The sources that reach us over HTTP, at POST /webhooks/<source>.
WEBHOOK_FEEDS: tuple[FeedSource, ...] = tuple(s for s in FeedSource if s not in (FeedSource.REPLAY, FeedSource.DEMO))


class ThreadKind(StrEnum):
    """What a thread is about: `<kind>:<id>` is a situation's subject and its notices' thread."""

    ORDER = "order"
    INCIDENT = "incident"


def thread_key(kind: ThreadKind, subject_id: str) -> str:
    return f"{kind}:{subject_id}"


class Job(StrEnum):
    """Background jobs, by the dramatiq actor name they are queued under (`engine.wiring` runs them)."""

    APPLY_EVENT = "events.apply"  # one stored inbound event's id
    DELIVER = "notices.deliver_batch"  # a list of notice ids
    SYNC_THREADS = "incidents.sync_threads"  # an incident's id
    CARE_TASK_WEBHOOK = "care.task_webhook"  # a care task's id and "opened" or "closed" (engine.care.webhook)


class SuppressionKind(StrEnum):
    """Why nothing proactive goes to an address: the person said no, or it cannot receive."""

    OPT_OUT = "opt_out"  # a STOP, an unsubscribe at the provider
    UNDELIVERABLE = "undeliverable"  # no such mailbox, not a mobile number


class StaffRole(StrEnum):
    """What a staff member may do, each role everything the one before it may (`at_least`): a viewer reads,
    an editor also drafts and tests templates, an approver also publishes and decides fan-outs and the
    pause, an admin also manages staff. The admin machine token (FOREWARN_API_TOKEN) acts as an admin."""

    VIEWER = "viewer"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_ORDER.index(self)

    def at_least(self, other: StaffRole) -> bool:
        return self.rank >= other.rank


_ROLE_ORDER: tuple[StaffRole, ...] = tuple(StaffRole)


class VersionStatus(StrEnum):
    """A template version's life (Knock/Courier style): saved as a draft, published (what renders), then
    superseded by a later publish. Rolling back publishes a copy of an older version as a new version."""

    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


# Every vocabulary: what serialising code may treat as a plain string.
WORDS: tuple[type[StrEnum], ...] = (
    Channel,
    Stage,
    NoticeStatus,
    SituationKind,
    SituationStatus,
    FeedSource,
    ThreadKind,
    Job,
    SuppressionKind,
    StaffRole,
    VersionStatus,
)


class PoisonKind(StrEnum):
    """What kind of row a step could not process (`engine.quarantine`)."""

    ORDER = "order"
    EVENT = "event"
    NOTICE = "notice"
    COMPONENT = "component"
    INCIDENT = "incident"


class Step(StrEnum):
    """The engine's steps that isolate what they cannot process, so one bad row stops nobody else."""

    SCAN = "scan"  # the scheduler's due-orders scan
    APPLY = "apply"  # applying a stored inbound event
    ANNOUNCE = "announce"  # announcing an outage
    SYNC = "sync"  # an incident's threads
    CLAIM = "claim"  # claiming a notice to send
    RECORD = "record"  # recording what the provider said


WORDS = (*WORDS, PoisonKind, Step)
