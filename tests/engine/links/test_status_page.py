"""Links that work: the signed status page, its address form, and every link of every golden email."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from support import builders
from support.pipeline import drain, notices, post
from support.seed_cases import cases
from support.words import LOCALES

from engine.api.app import create_app
from engine.clock import SimulatedClock
from engine.compose.samples import BASE, SAMPLE_NOW, SAMPLE_SECRET_KEY
from engine.config import Settings
from engine.links.build import status_url
from engine.links.tokens import Page, make_token, read_token
from engine.models import Customer, InboundEvent, Incident, Order
from engine.runtime import Runtime
from integrations.feeds import build_feeds

_LINK = re.compile(r"https://notify\.example\.com/s/[A-Za-z0-9_.~-]+(?:/address)?")


def warned_about_address(client: TestClient, rt: Runtime, clock: SimulatedClock) -> str:
    t = clock.now()
    post(
        client,
        clock,
        builders.customer_upserted(t - timedelta(days=3), name="Ana Souza"),
        builders.order_created(t - timedelta(days=2)),
        builders.shipment(t - timedelta(days=1), "in_transit"),
        builders.shipment(t, "exception", exception="address"),
    )
    drain(rt)
    body = next(n.body for n in notices(rt) if n.channel == "email")
    links = _LINK.findall(body)
    assert links, body
    return links[0]


def test_the_status_page_says_what_happened_and_nothing_personal(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    link = warned_about_address(client, rt, clock)
    assert link.endswith("/address")  # "confirm your address" leads to the form
    page = client.get(link.removesuffix("/address").removeprefix("https://notify.example.com"))
    assert page.status_code == 200
    html = page.text
    assert "Hi Ana," in html and "Souza" not in html and "ana@example.com" not in html and "+55" not in html
    assert "couldn&#x27;t match the delivery address" in html or "couldn't match the delivery address" in html
    assert "/address" in html
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_address_form_records_the_correction_as_an_event(
    client: TestClient, rt: Runtime, clock: SimulatedClock
) -> None:
    link = warned_about_address(client, rt, clock).removeprefix("https://notify.example.com")
    form = client.get(link)
    assert form.status_code == 200 and 'name="postal_code"' in form.text
    incomplete = client.post(
        link, content=b"line1=1+Main+St", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert incomplete.status_code == 422 and "1 Main St" in incomplete.text
    sent = client.post(
        link,
        content=b"line1=1+Main+St&city=Springfield&postal_code=12345&country=US",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert sent.status_code == 200 and "Thank you" in sent.text
    drain(rt)
    with Session(rt.db) as session:
        event = session.exec(select(InboundEvent).where(InboundEvent.type == "order.updated")).one()
    assert event.order_id == "A1001" and event.payload["order"]["shipping_address"]["city"] == "Springfield"
    assert event.handled_at is not None and event.error is None, (event.outcome, event.error)


@pytest.mark.parametrize("path", ["/s/nonsense", "/s/AAAAAAAA1001", "/s/.xAAAAAAAA1", "/s/" + "x" * 400])
def test_a_forged_link_is_a_friendly_404(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 404 and "find this page" in page.text


def test_a_token_names_only_what_it_was_signed_for() -> None:
    token = make_token("k" * 32, Page.ORDER, "A1001")
    assert read_token("k" * 32, token) == (Page.ORDER, "A1001")
    assert read_token("k" * 32, token[:-1] + "2") is None  # another order, same signature
    assert read_token("j" * 32, token) is None
    odd = make_token("k" * 32, Page.CUSTOMER, "cust/ä 1")
    assert read_token("k" * 32, odd) == (Page.CUSTOMER, "cust/ä 1")


def test_links_of_older_messages_answer(client: TestClient) -> None:
    for path in ("/t/A1001", "/orders/A1001", "/orders", "/status"):
        assert client.get(path).status_code == 200


# --- every link in every golden email answers 200 ---


@pytest.fixture
def sample_settings(database_url: str, tmp_path: Path) -> Settings:
    """A deployment at the samples' address with their key: the goldens' links are its links."""
    return Settings(
        database_url=database_url,
        outbox_dir=str(tmp_path / "outbox"),
        sms_dir=str(tmp_path / "sms"),
        audit_checkpoint_file=str(tmp_path / "audit-checkpoints.jsonl"),
        public_url=BASE,
        secret_key=SAMPLE_SECRET_KEY,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def sample_client(sample_settings: Settings, clock: SimulatedClock) -> Iterator[TestClient]:
    from support.runtime import seeded_runtime

    rt = seeded_runtime(sample_settings, clock)
    with Session(rt.db) as session:
        at = SAMPLE_NOW
        session.add(
            Customer(id="C1", name="Ana Souza", locale="en", timezone="America/New_York", created_at=at, updated_at=at)
        )
        session.flush()
        for order_id in ("A10042", "A20041", "A20042", "A1000234567"):
            session.add(
                Order(id=order_id, customer_id="C1", lines=[{"name": "Desk lamp"}], created_at=at, updated_at=at)
            )
        session.add(Incident(id="INC-7", title="Checkout", components=["checkout"], started_at=at, updated_at=at))
        session.commit()
    try:
        with TestClient(create_app(rt, feeds=build_feeds(rt.settings)), base_url=BASE) as client:
            yield client
    finally:
        rt.close()


_HREF = re.compile(re.escape(BASE) + r"/[^\s\"'<>]*")


def golden_links() -> set[str]:
    from support.paths import REPO

    found: set[str] = set()
    for path in (REPO / "tests" / "golden").rglob("*.txt"):
        found |= {link.rstrip(".,)") for link in _HREF.findall(path.read_text(encoding="utf-8"))}
    return found


def test_every_link_in_every_golden_email_answers_200(sample_client: TestClient) -> None:
    links = golden_links()
    assert len(list(cases())) > 100 and len(LOCALES) == 5
    assert any("/s/" in link for link in links) and any("/unsubscribe/" in link for link in links)
    answers = {link: sample_client.get(link.removeprefix(BASE)).status_code for link in sorted(links)}
    assert {link: code for link, code in answers.items() if code != 200} == {}
    # and the status page of the incident, as a message links it
    assert (
        sample_client.get(status_url(BASE, SAMPLE_SECRET_KEY, Page.INCIDENT, "INC-7").removeprefix(BASE)).status_code
        == 200
    )
