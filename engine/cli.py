"""`forewarn`: serve, worker, scheduler, db, replay, audit, demo (DESIGN §5)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from engine.clock import parse_duration, parse_instant
from engine.config import Settings, get_settings
from engine.logmask import AccessLogFilter, RedactingFilter
from engine.staff.cli import demo_admin, users_app

app = typer.Typer(
    help="Forewarn: tell customers about delays and outages before they have to ask.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
customers_app = typer.Typer(help="Customers: erase one (GDPR).", no_args_is_help=True)
app.add_typer(customers_app, name="customers")
remedies_app = typer.Typer(
    help="The remedy pool: codes offered from a customer's second problem.", no_args_is_help=True
)
app.add_typer(remedies_app, name="remedies")
tasks_app = typer.Typer(help="Care tasks: what staff or their helpdesk follow up.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")


def _logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The twilio client logs request parameters (phone numbers, bodies) at INFO; keep them out.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    # Defence in depth: an address or number in an exception message is masked before it is written.
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    # Access logs carry paths: an unsubscribe link's token, a feed's ?token=. Keep the route, not the secret.
    logging.getLogger("uvicorn.access").addFilter(AccessLogFilter())
    from engine.config import development_secrets

    for problem in development_secrets(settings):  # refused outright with FOREWARN_ENV=production
        logging.getLogger("forewarn").warning("development setting in use: %s", problem)


def _is_embedded_db(settings: Settings) -> bool:
    return settings.database_url.startswith("sqlite")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from engine.db.migrations import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. base")]) -> None:
    """Revert migrations down to REVISION."""
    from engine.db.migrations import downgrade

    downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


SERVE_SWITCH_INTERVAL = 0.0005  # seconds (Python's default: 0.005)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """API + webhooks; with no FOREWARN_BROKER_URL also the worker and scheduler, in this process."""
    import uvicorn

    from engine.api.app import create_app
    from engine.scheduler import SchedulerThread
    from engine.wiring import InProcessWorker, start

    settings = get_settings()
    _logging(settings)
    # The group-commit thread waits on the database several times per group and, each time, for the GIL
    # back from the event loop: at Python's default 5 ms switch interval those waits were most of a group's
    # time under load. Every thread here mostly waits on sockets, so switching more often costs little.
    sys.setswitchinterval(SERVE_SWITCH_INTERVAL)
    rt, dispatcher = start(settings, migrate=_is_embedded_db(settings))
    worker = scheduler = None
    if settings.is_embedded_broker:
        worker = InProcessWorker(dispatcher.broker, threads=settings.worker_threads)
        worker.start()
        scheduler = SchedulerThread(rt)
        scheduler.start()
    external = not settings.is_embedded_broker
    api = create_app(
        rt,
        broker_ping=dispatcher.ping if external else None,
        broker_health=dispatcher.health if external else None,
    )
    typer.echo(f"Forewarn is serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    if not settings.smtp_url:
        typer.echo(f"Emails are written to {Path(settings.outbox_dir).resolve()}/*.eml")
    try:
        uvicorn.run(api, host=host, port=port, log_level=settings.log_level.lower())
    finally:
        if scheduler:
            scheduler.stop()
        if worker:
            worker.stop()
        rt.close()


@app.command()
def worker(threads: Annotated[int, typer.Option(help="worker threads")] = 0) -> None:
    """Deliver notices and apply events from the broker (FOREWARN_BROKER_URL must be set)."""
    from engine.wiring import fair_worker, start

    settings = get_settings()
    _logging(settings)
    if settings.is_embedded_broker:
        typer.echo(
            "forewarn worker needs FOREWARN_BROKER_URL (redis:// or amqp://); "
            "without one, `forewarn serve` runs the worker itself.",
            err=True,
        )
        raise typer.Exit(2)
    rt, dispatcher = start(settings, migrate=False)
    w = fair_worker(dispatcher.broker, threads=threads or settings.worker_threads)
    w.start()
    typer.echo(f"worker started with {threads or settings.worker_threads} threads")
    _wait_for_signal()
    w.stop()
    dispatcher.broker.close()
    rt.close()


@app.command()
def scheduler() -> None:
    """Periodic scans and the outbox relay (FOREWARN_BROKER_URL must be set)."""
    from engine.scheduler import SchedulerThread
    from engine.wiring import start

    settings = get_settings()
    _logging(settings)
    if settings.is_embedded_broker:
        typer.echo("forewarn scheduler needs FOREWARN_BROKER_URL; `forewarn serve` runs it in-process.", err=True)
        raise typer.Exit(2)
    rt, _ = start(settings, migrate=False)
    thread = SchedulerThread(rt)
    thread.start()
    typer.echo(f"scheduler ticking every {settings.scheduler_interval}")
    _wait_for_signal()
    thread.stop()
    rt.close()


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@app.command()
def replay(
    trace: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="canonical events, one per line")],
    out: Annotated[Path, typer.Option("--out", help="where to write the notices (JSON lines)")],
    tick: Annotated[
        str | None,
        typer.Option(help="scan interval in simulated time [default: FOREWARN_SCHEDULER_INTERVAL, 15s]"),
    ] = None,
    until: Annotated[str | None, typer.Option(help="stop at this time (RFC 3339)")] = None,
    sweep: Annotated[
        str | None,
        typer.Option(help="thresholds to score from one run, e.g. 0.5,0.8,0.95 (notices: the rules' alone)"),
    ] = None,
) -> None:
    """Back-test TRACE on a simulated clock in a fresh temporary database; nothing is sent."""
    from engine.errors import InvalidEvent
    from engine.replay import replay as run_replay
    from engine.replay.frontier import reliability_lines, sweep_lines

    try:
        step = parse_duration(tick) if tick else None
        stop = parse_instant(until) if until else None
        thresholds = [float(t) for t in sweep.split(",") if t.strip()] if sweep else []
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    settings = get_settings()
    typer.echo(f"replaying {trace} (tick {tick or settings.scheduler_interval})", err=True)
    try:
        summary = run_replay(
            trace,
            out,
            settings=settings,
            tick=step,
            until=stop,
            progress=lambda line: typer.echo(line, err=True),
            sweep=thresholds,
        )
    except InvalidEvent as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    total = sum(summary.notices.values())
    typer.echo(
        f"{summary.events} events ({summary.duplicates} repeats) over "
        f"{summary.started_at:%Y-%m-%d} → {summary.ended_at:%Y-%m-%d}, {summary.ticks} ticks, "
        f"{summary.seconds:.1f} s"
    )
    typer.echo(
        f"{total} notices written to {out}; {summary.dropped} dropped before sending, {summary.failed} failed, "
        f"{summary.merged} merged into others by the daily limit"
    )
    for key, count in sorted(summary.notices.items()):
        typer.echo(f"  {key:45} {count}")
    for line in [*reliability_lines(summary.reliability), *sweep_lines(summary.frontier)]:
        typer.echo(line)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the chain (signatures under FOREWARN_AUDIT_KEY, links, personal parts) and that it still holds
    every head checkpointed in FOREWARN_AUDIT_CHECKPOINT_FILE; exit 1 naming the first broken entry."""
    from engine.audit.keys import Signer
    from engine.audit.verify import verify_with_checkpoints
    from engine.db import make_engine

    settings = get_settings()
    path = Path(settings.audit_checkpoint_file)
    result = verify_with_checkpoints(make_engine(settings.database_url), path, signer=Signer(settings.audit_key))
    if result.ok:
        seen = (
            f"{result.checkpoints} checkpoints reached ({path})"
            if result.checkpoints
            else f"no checkpoint yet ({path})"
        )
        erased = f"; {result.erased} personal parts erased" if result.erased else ""
        typer.echo(f"audit log intact: {result.checked} entries verified, {seen}{erased}")
        return
    where = f" at entry {result.broken_seq}" if result.broken_seq is not None else ""
    typer.echo(
        f"audit log BROKEN{where}: {result.reason} ({result.checked} entries before it verified)",
        err=True,
    )
    raise typer.Exit(1)


@customers_app.command("erase")
def customers_erase(
    customer_id: Annotated[str, typer.Argument(help="the customer's id")],
    by: Annotated[str, typer.Option(help="who asked, for the audit log")] = "cli",
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Remove a customer's personal data from state, notices, stored events, the audit log's personal
    parts and the outbox files; the audit chain keeps verifying (docs/architecture.md, "Erasure")."""
    from engine.erasure import erase_customer
    from engine.wiring import build_runtime

    if not yes and not typer.confirm(f"Erase every personal detail of customer {customer_id}? This cannot be undone"):
        raise typer.Exit(1)
    settings = get_settings()
    rt = build_runtime(settings, with_channels=False)
    try:
        with rt.unit_of_work() as session:
            done = erase_customer(session, rt, customer_id, actor=f"staff:{by}", at=rt.clock.now())
    finally:
        rt.close()
    if done is None:
        typer.echo(f"no customer {customer_id}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"customer {customer_id} erased: {done.orders} orders, {done.shipments} shipments, {done.notices} notices "
        f"({done.dropped} unsent, now dropped), {done.events} stored events, {done.audit_parts} audit parts, "
        f"{done.files} outbox files"
    )


@remedies_app.command("load")
def remedies_load(
    path: Annotated[Path, typer.Argument(help="one code a line; `CODE,description` to describe it")],
    by: Annotated[str, typer.Option(help="who loaded them, for the audit log")] = "cli",
) -> None:
    """Add codes to the remedy pool (docs/care.md); a code already loaded is skipped."""
    from engine import audit
    from engine.care.remedies import load_codes, pool_left
    from engine.wiring import build_runtime

    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        code, _, description = line.partition(",")
        if code.strip() and not code.strip().startswith("#"):
            pairs.append((code, description))
    rt = build_runtime(get_settings(), with_channels=False)
    try:
        with rt.unit_of_work() as session:
            added = load_codes(session, pairs, now=rt.clock.now())
            audit.append(
                session,
                at=rt.clock.now(),
                actor=f"staff:{by}",
                action="remedy.loaded",
                subject="remedy_pool",
                details={"added": added},
            )
            left = pool_left(session)
    finally:
        rt.close()
    typer.echo(f"{added} codes added; {left} unclaimed in the pool")


@tasks_app.command("webhook-secret")
def tasks_webhook_secret() -> None:
    """Print the whsec_ key that signs the helpdesk webhook, to configure the helpdesk with (docs/care.md)."""
    from engine.care.webhook import signing_secret

    typer.echo(signing_secret(get_settings()))


@app.command()
def demo() -> None:
    """Load a small demo story (customers, orders, a carrier exception) and deliver its notices now."""
    from engine.db.migrations import upgrade
    from engine.demo import load_demo
    from engine.wiring import build_runtime

    settings = get_settings()
    _logging(settings)
    upgrade(settings.database_url)
    rt = build_runtime(settings)
    report = load_demo(rt)
    login = demo_admin(rt)
    rt.close()
    typer.echo(report)
    # Printed to this terminal once and never logged: the password exists nowhere else.
    if login:
        typer.echo(f"Console: http://127.0.0.1:8000/ops/  sign in as {login[0]} with password {login[1]}")
    else:
        typer.echo("Console: http://127.0.0.1:8000/ops/  (an admin exists already: forewarn users list)")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
