"""`forewarn customers erase ID`: a customer's personal data leaves every table and the outbox files,
another customer's stays, and the audit chain (with its checkpoints) still verifies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, SQLModel, select
from support import builders
from support.pipeline import drain

from engine import audit
from engine.audit.checkpoint import write_checkpoint
from engine.audit.verify import verify_with_checkpoints
from engine.clock import SimulatedClock
from engine.events import parse_events
from engine.inbound.service import store_events
from engine.models import Customer, Notice
from engine.runtime import Runtime

NAME, EMAIL, PHONE = "Zenobia Quillfeather", "zenobia.q@example.com", "+5511933334444"
PRODUCT, TRACKING, WHERE, REPLY = "Walnut spice grinder", "1ZQUILL777", "Porto Alegre depot", "gate code is 4471"
PERSONAL = (NAME, EMAIL, PHONE, PRODUCT, TRACKING, WHERE, REPLY, "Zenobia", "zenobia")


def story(rt: Runtime, clock: SimulatedClock) -> None:
    t = clock.now()
    raw = [
        builders.customer_upserted(t, cid="C9", name=NAME, email=EMAIL, phone=PHONE),
        builders.order_created(t, order_id="Z1", customer_id="C9", lines=[{"name": PRODUCT, "quantity": 1}]),
        builders.shipment(t, "exception", order_id="Z1", exception="damaged", tracking_number=TRACKING, location=WHERE),
        builders.customer_upserted(t),  # Ana, who stays
        builders.order_created(t),
        builders.shipment(t, "exception", exception="damaged"),
    ]
    with rt.unit_of_work() as session:
        store_events(session, source="events", events=parse_events(raw), received_at=t, queue=False)
    drain(rt)
    with rt.unit_of_work() as session:  # what a text back from Zenobia leaves (engine/delivery/provider_status.py)
        audit.append(
            session,
            at=t,
            actor="customer",
            action="customer.replied",
            subject="customer:C9",
            details={"channel": "sms", "length": len(REPLY)},
            personal=audit.Personal("C9", {"text": REPLY}),
        )


def everything_stored(rt: Runtime) -> str:
    with rt.db.connect() as conn:
        dump = [
            f"{table.name}: {tuple(row)}"
            for table in SQLModel.metadata.sorted_tables
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"'))
        ]
    return "\n".join(dump)


def files(rt: Runtime) -> dict[str, str]:
    found = {}
    for folder in (rt.settings.outbox_dir, rt.settings.sms_dir):
        for path in Path(folder).glob("*"):
            found[path.name] = path.read_text(encoding="utf-8", errors="replace")
    return found


def test_erasing_a_customer_removes_their_data_and_the_chain_still_verifies(rt: Runtime, clock: SimulatedClock) -> None:
    story(rt, clock)
    with Session(rt.db) as session:
        theirs = list(session.exec(select(Notice.id).where(Notice.customer_id == "C9")).all())
    stored, before_files = everything_stored(rt), files(rt)
    assert all(value in stored for value in (NAME, EMAIL, PHONE, PRODUCT, TRACKING, REPLY))
    assert theirs and any(NAME.split()[0] in body for body in before_files.values())
    assert write_checkpoint(rt) is not None

    env = {
        **os.environ,
        "FOREWARN_DATABASE_URL": rt.settings.database_url,
        "FOREWARN_OUTBOX_DIR": rt.settings.outbox_dir,
        "FOREWARN_SMS_DIR": rt.settings.sms_dir,
        "FOREWARN_AUDIT_CHECKPOINT_FILE": rt.settings.audit_checkpoint_file,
    }
    command = [sys.executable, "-m", "engine.cli", "customers", "erase", "C9", "--by", "dpo@example.com", "--yes"]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "customer C9 erased" in run.stdout and f"{len(theirs)} notices" in run.stdout

    after = everything_stored(rt)
    assert [value for value in PERSONAL if value in after] == []
    assert "Ana Souza" in after and "ana@example.com" in after  # nobody else's
    left = files(rt)
    assert not any(name.split(".")[0] in {str(i) for i in theirs} for name in left)
    assert left and all(not any(value in body for value in PERSONAL) for body in left.values())
    with Session(rt.db) as session:
        gone = session.get(Customer, "C9")
        assert gone is not None and (gone.name, gone.email, gone.phone, gone.channels) == ("", None, None, [])

    result = verify_with_checkpoints(rt.db, Path(rt.settings.audit_checkpoint_file))
    assert result.ok and result.erased == 1 and result.checkpoints == 1
    assert "customer.erased" in after and "staff:dpo@example.com" in after
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "0 outbox files" in again.stdout  # idempotent
    assert verify_with_checkpoints(rt.db, Path(rt.settings.audit_checkpoint_file)).ok
