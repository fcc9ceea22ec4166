"""The console in a real browser: the app served by uvicorn on a free port, Debian's Chromium driven by
Playwright (never a downloaded browser), and the checks every visited page must pass.

Page checks (GOV.UK Notify's habit): the HTML parses; one <h1>; the <title> starts with it; every POST form
carries a CSRF field; no duplicate ids; every visible input has a label; axe-core (vendored) finds no
serious or critical violation. Each checked page is saved as a screenshot under var/screenshots/.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"


def require_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    problem = f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread; yields its base URL, stops it after."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class _Scan(HTMLParser):
    h1: list[str] = field(default_factory=list)
    title: str = ""
    ids: list[str] = field(default_factory=list)
    forms: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, str]] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    _in: list[str] = field(default_factory=list)
    _label_depth: int = 0

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids.append(values["id"])
        if tag in ("h1", "title"):
            self._in.append(tag)
        if tag == "h1":
            self.h1.append("")
        if tag == "label":
            self._label_depth += 1
            if values.get("for"):
                self.label_for.add(values["for"])
        if tag == "form":
            self.forms.append(
                {"method": values.get("method", "get").lower(), "action": values.get("action", ""), "csrf": False}
            )
        if tag in ("input", "select", "textarea"):
            if values.get("name") == "csrf_token" and self.forms:
                self.forms[-1]["csrf"] = True
            if values.get("type", "") not in ("hidden", "submit", "button"):
                self.inputs.append({**values, "_tag": tag, "_wrapped": "1" if self._label_depth else ""})

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag == "label":
            self._label_depth = max(0, self._label_depth - 1)

    def handle_data(self, data: str) -> None:
        if "title" in self._in:
            self.title += data
        if "h1" in self._in and self.h1:
            self.h1[-1] += data


def html_problems(html: str) -> list[str]:
    scan = _Scan()
    scan.feed(html)
    scan.close()
    problems = []
    if len(scan.h1) != 1:
        problems.append(f"{len(scan.h1)} <h1> elements")
    elif not " ".join(scan.title.split()).startswith(" ".join(scan.h1[0].split())):
        problems.append(f"<title> {scan.title!r} does not start with the <h1> {scan.h1[0]!r}")
    duplicates = [name for name, count in Counter(scan.ids).items() if count > 1]
    if duplicates:
        problems.append(f"duplicate ids: {duplicates}")
    for form in scan.forms:
        if form["method"] == "post" and not form["csrf"]:
            problems.append(f"POST form to {form['action']!r} has no CSRF field")
    for item in scan.inputs:
        labelled = item.get("id") in scan.label_for or item.get("aria-label") or item.get("_wrapped")
        if not labelled:
            problems.append(f"<{item['_tag']} name={item.get('name')!r}> has no label")
    return problems


_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


def check_page(page: Any, name: str) -> None:
    """Every check above on the page as it is now, and its screenshot as var/screenshots/<name>.png."""
    page.wait_for_load_state("networkidle")
    problems = html_problems(page.content())
    page.evaluate(AXE.read_text(encoding="utf-8"))
    serious = [v for v in page.evaluate(_AXE_RUN) if v["impact"] in ("serious", "critical")]
    problems += [f"axe {v['id']} ({v['impact']}): {v['help']} at {v['targets']}" for v in serious]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert problems == [], f"{name} ({page.url}): {problems}"
