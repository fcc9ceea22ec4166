"""Settings: every knob is an environment variable with the `FOREWARN_` prefix (DESIGN §6)."""

from __future__ import annotations

from datetime import time, timedelta
from functools import lru_cache

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.clock import parse_duration
from engine.vocabulary import FeedSource

DEV_SECRET_KEY = "dev-only-change-me"  # noqa: S105 - the development default production refuses
DEV_AUDIT_KEY = "dev-only-audit-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOREWARN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/forewarn.db"
    broker_url: str = ""
    smtp_url: str = ""
    email_from: str = "Forewarn <notices@localhost>"
    email_reply_to: str = ""
    outbox_dir: str = "./var/outbox"
    sms_dir: str = "./var/sms"

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_base_url: str = "https://api.twilio.com"

    public_url: str = "http://127.0.0.1:8000"
    brand_name: str = "Forewarn Store"
    support_email: str = "help@localhost"

    webhook_secret_shopify: str | None = None
    webhook_secret_easypost: str | None = None
    webhook_secret_aftership: str | None = None
    webhook_secret_pagerduty: str | None = None
    webhook_secret_events: str | None = None
    webhook_token_statuspage: str | None = None
    webhook_token_alertmanager: str | None = None
    webhook_tolerance: str = "5m"

    api_token: str | None = None
    secret_key: str = Field(default=DEV_SECRET_KEY, description="signs sessions, CSRF and unsubscribe tokens")

    quiet_hours: str = "21:00-08:00"
    # Warn on an inference (no carrier estimate, only the learned survival of this carrier's trips) once the
    # probability of missing the promise reaches this; chosen by back-test, 0.9 was too eager on a held-out
    # sparse world (docs/detection.md).
    warn_confidence: float = Field(default=0.95, gt=0.0, le=1.0)
    outage_debounce: str = "10m"
    fanout_approval: int = 1000
    # Customers per fan-out transaction (an announcement's batch, a page of an incident's threads): enough to
    # amortise each statement, few enough to keep memory flat and each transaction short.
    fanout_batch: int = Field(default=2000, ge=1)
    # Warnings per customer and channel in any rolling 24 h; more are merged into one message. 0 = no cap.
    max_notices_per_day: int = Field(default=3, ge=0)
    # Addresses a provider may have marked undeliverable in an hour (a 550 5.1.1 for the mailbox); past it
    # refusals still fail their notice but mark nothing: a relay refusing everyone is misconfigured.
    max_refused_addresses_per_hour: int = Field(default=100, ge=0)

    queue_name: str = "forewarn"  # broker queue (and Redis namespace); separate deployments on one broker differ
    worker_threads: int = 4
    scheduler_interval: str = "15s"
    relay_after: str = "2m"
    # How long the broker may be unreachable before webhooks are answered 503 + Retry-After instead of
    # stored for the relay (docs/deploy.md, "When the broker is down").
    broker_grace: str = "10s"
    log_level: str = "INFO"

    # FOREWARN_ENV: `production` refuses the development defaults below (DESIGN §6).
    env: str = "development"

    # --- the audit chain --- (docs/architecture.md, "Audit chain")
    # Keys every entry's HMAC; kept outside the database so that whoever can write the table cannot re-chain it.
    audit_key: str = Field(default=DEV_AUDIT_KEY, description="HMAC key of the audit chain")
    # Where the scheduler writes the chain's head each tick; `forewarn audit verify` checks the chain against it.
    audit_checkpoint_file: str = "./var/audit-checkpoints.jsonl"

    # --- the staff console --- (docs/console.md)
    template_approval: bool = False  # a version is published only when an approver who is not its author approves
    staff_2fa: bool = False  # approvers and admins need a TOTP second factor to sign in

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.env.strip().lower() != "production":
            return self
        problems = development_secrets(self)
        if problems:
            raise ValueError("FOREWARN_ENV=production refuses development secrets: " + "; ".join(problems))
        return self

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("outage_debounce", "scheduler_interval", "relay_after", "webhook_tolerance", "broker_grace")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    def webhook_secret(self, source: FeedSource) -> str | None:
        value: str | None = getattr(self, f"webhook_secret_{source}", None)
        return value or None

    def webhook_token(self, source: FeedSource) -> str | None:
        value: str | None = getattr(self, f"webhook_token_{source}", None)
        return value or None

    @property
    def quiet_window(self) -> tuple[time, time]:
        return parse_quiet_hours(self.quiet_hours)

    @property
    def webhook_tolerance_delta(self) -> timedelta:
        return parse_duration(self.webhook_tolerance)

    @property
    def is_embedded_broker(self) -> bool:
        return not self.broker_url

    # --- feed settings --- (how vendor payloads map onto canonical events; see docs/feeds.md)
    shopify_promise_attribute: str = "promised_by"  # order note attribute holding an explicit promise
    shopify_shipping_days: dict[str, int] = {}  # shipping line title → business days to deliver
    shopify_default_days: int = Field(default=5, ge=0)  # business days when neither of the above applies
    alertmanager_component_labels: str = "component,service"  # label names; the first present wins
    alertmanager_component_map: dict[str, str] = {}  # label value → component name
    statuspage_component_map: dict[str, str] = {}  # component id or name → component name ("*": none named)
    pagerduty_component_map: dict[str, str] = {}  # service id or summary → component name

    # --- words --- (docs/templates.md)
    status_note_locale: str = "en"  # the language staff write status-page notes in; quoted only to its readers
    component_names: dict[str, dict[str, str]] = {}  # component → {locale: the name customers know it by}

    # --- care --- (docs/care.md)
    # From which problem within 30 days a warning offers a code from the remedy pool (0: never); the pool is
    # what staff load (`forewarn remedies load`): no codes, no offer.
    remedy_from: int = Field(default=2, ge=0)
    remedy_description: str = "a discount on your next order"  # what a code is, when its row does not say
    care_task_from: int = Field(default=3, ge=0)  # from which problem within 30 days a first warning opens a task
    task_webhook_url: str = ""  # a helpdesk that receives care tasks (Standard Webhooks); empty: none
    task_webhook_secret: str | None = None  # whsec_… signing key for it; FOREWARN_SECRET_KEY's derivation if unset


# Published in this repository (Makefile, README): anyone can sign with them.
PUBLIC_SECRETS = frozenset(
    {
        DEV_SECRET_KEY,
        DEV_AUDIT_KEY,
        "dev-token",
        "whsec_ZGV2LW9ubHktZXZlbnRzLXNlY3JldC0xMjM0NQ==",
        "change-me",
        "secret",
        "sample-only-key-for-previews-and-golden-files",  # engine.compose.samples.SAMPLE_SECRET_KEY
    }
)
MIN_SECRET_KEY_LENGTH = 32


def development_secrets(settings: Settings) -> list[str]:
    """What in `settings` is a development default or too weak to run in production (names, never values)."""
    found: list[str] = []
    if settings.secret_key in PUBLIC_SECRETS or len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        found.append(f"FOREWARN_SECRET_KEY must be set, at least {MIN_SECRET_KEY_LENGTH} characters, not a default")
    if settings.audit_key in PUBLIC_SECRETS or len(settings.audit_key) < MIN_SECRET_KEY_LENGTH:
        found.append(f"FOREWARN_AUDIT_KEY must be set, at least {MIN_SECRET_KEY_LENGTH} characters, not a default")
    if settings.api_token is not None and (settings.api_token in PUBLIC_SECRETS or len(settings.api_token) < 24):
        found.append("FOREWARN_API_TOKEN is a development token or shorter than 24 characters")
    for name in type(settings).model_fields:
        if name.startswith(("webhook_secret_", "webhook_token_")):
            value = getattr(settings, name)
            if value is not None and value in PUBLIC_SECRETS:
                found.append(f"FOREWARN_{name.upper()} is a published development secret")
    return found


def parse_quiet_hours(value: str) -> tuple[time, time]:
    """`21:00-08:00` → (21:00, 08:00); a window may wrap past midnight."""
    try:
        start_text, end_text = value.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError as exc:
        raise ValueError(f"quiet hours must look like 21:00-08:00, got {value!r}") from exc
    return start, end


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
