"""What one render may cost: time, output, and the size of any value a template builds on the way.

Staff write templates, and the sandbox stops them reaching outside; it does not stop them asking for too
much. `{% for a in l %}{% for b in l %}…` runs for minutes, `'x' * 10**9` takes a gigabyte, and a macro
that calls itself ends in RecursionError. Any of these in the template of one situation would hold a
worker thread, or the scheduler's scan, for everyone. So each render runs under a `Budget`:

- a deadline (RENDER_SECONDS of wall time for one message, all its parts): checked on every call a
  template makes (functions, methods, macros, filters), every intercepted operator, every 256 items of
  every `{% for %}` loop and every piece of output;
- an output limit per part (MAX_OUTPUT_CHARS), counted as the output is produced;
- a value limit (MAX_VALUE_CHARS): an argument asking for a longer result (`'x'.center(10**9)`,
  `'-' * 10**8`, a format width of millions, `2 ** 10**7`) is refused *before* Python builds it —
  after would be too late, the memory would be gone.

Wall time is measured with `time.monotonic`, not the engine's clock: this is a CPU budget, not business
time (a simulated clock in replay never moves during a render).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from jinja2 import nodes

from engine.errors import TemplateError

RENDER_SECONDS = 2.0
MAX_OUTPUT_CHARS = 200_000
MAX_VALUE_CHARS = 1_000_000
MAX_POWER_BITS = 4096
LOOP_FILTER = "_forewarn_budgeted_loop"
_CHECK_EVERY = 256
# A width or precision of a million or more in a format spec: `'%1000000000s' % x`, `'{:>9999999}'.format(x)`.
_HUGE_WIDTH = re.compile(r"%[-#0 +]*(\d{7,}|\d*\.\d{7,})|\{[^{}]*:[^{}]*\d{7,}[^{}]*\}")


class RenderLimit(TemplateError):
    """A render asked for more than its budget: time, output, or a value's size."""


class Budget:
    """The limits of one render; `check` raises TemplateError once the time is up."""

    def __init__(self, seconds: float = RENDER_SECONDS) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"the template took longer than {self.seconds:g} s to render")


_current: ContextVar[Budget | None] = ContextVar("forewarn_render_budget", default=None)


@contextmanager
def budget(seconds: float = RENDER_SECONDS) -> Iterator[Budget]:
    """Run the renders inside under one budget (a message's parts share it); nested calls join the outer one."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    mine = Budget(seconds)
    token = _current.set(mine)
    try:
        yield mine
    finally:
        _current.reset(token)


def check_time() -> None:
    current = _current.get()
    if current is not None:
        current.check()


def refuse_huge_arguments(args: Iterable[Any]) -> None:
    """Refuse a number that would ask for a value past MAX_VALUE_CHARS (a width, a count, a repeat)."""
    for value in args:
        if type(value) is int and abs(value) > MAX_VALUE_CHARS:
            raise RenderLimit(f"a number over {MAX_VALUE_CHARS:,} is not allowed in templates")
        if isinstance(value, str) and _HUGE_WIDTH.search(value):
            raise RenderLimit("a format width or precision over a million is not allowed in templates")


def refuse_huge_result(value: Any) -> Any:
    if isinstance(value, str | list | tuple | bytes) and len(value) > MAX_VALUE_CHARS:
        raise RenderLimit(f"a value longer than {MAX_VALUE_CHARS:,} is not allowed in templates")
    return value


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple | bytes) else None


def checked_binop(operator: str, left: Any, right: Any, apply: Callable[[Any, Any], Any]) -> Any:
    """An intercepted operator: `*` and `**` are sized before they run, `%` formats are width-checked."""
    check_time()
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            size = _sized(seq)
            if size is not None and type(times) is int and size * times > MAX_VALUE_CHARS:
                raise RenderLimit(f"a value longer than {MAX_VALUE_CHARS:,} is not allowed in templates")
    elif operator == "**" and type(left) is int and type(right) is int:
        if right > 0 and max(left.bit_length(), 1) * right > MAX_POWER_BITS:
            raise RenderLimit("that power is too large for a template")
    elif operator == "%" and isinstance(left, str):
        refuse_huge_arguments([left])
    return refuse_huge_result(apply(left, right))


def checked_filter(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter or global so that calling it checks the time and its arguments (keeps Jinja's
    pass_context marks: `wraps` copies them)."""

    # The value filtered comes first (after the context, for filters that take it): any number is fine
    # there; only the filter's own arguments ask for sizes.
    skip = 2 if getattr(fn, "jinja_pass_arg", None) is not None else 1

    @wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_time()
        refuse_huge_arguments(args[skip:])
        refuse_huge_arguments(kwargs.values())
        if len(args) >= skip and isinstance(args[skip - 1], str):
            refuse_huge_arguments([args[skip - 1]])  # a format string given to `format`
        return refuse_huge_result(fn(*args, **kwargs))

    return guarded


def budgeted_loop(iterable: Any) -> Iterator[Any]:
    """What every `{% for %}` iterates: the same items, with the time checked every few of them."""
    for count, item in enumerate(iterable):
        if count % _CHECK_EVERY == 0:
            check_time()
        yield item


def budget_loops(template: nodes.Template) -> nodes.Template:
    """Make every `{% for %}` in the syntax tree iterate through LOOP_FILTER (done when compiling)."""
    for loop in template.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, LOOP_FILTER, [], [], None, None, lineno=loop.lineno)
    return template


def collect(pieces: Iterable[str]) -> str:
    """Join a render's output, stopping at MAX_OUTPUT_CHARS and checking the time as it goes."""
    out: list[str] = []
    size = 0
    for count, piece in enumerate(pieces):
        size += len(piece)
        if size > MAX_OUTPUT_CHARS:
            raise RenderLimit(f"the output is longer than {MAX_OUTPUT_CHARS:,} characters")
        if count % _CHECK_EVERY == 0:
            check_time()
        out.append(piece)
    return "".join(out)
