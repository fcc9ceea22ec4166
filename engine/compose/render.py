"""Render one message from staff-written templates in a sandbox, with locale- and time-zone-aware filters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

import jinja2
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.compose.cleaning import clean_sms, clean_subject, clean_text
from engine.compose.formatting import Formatter, add_days, formatter
from engine.compose.limits import (
    LOOP_FILTER,
    RenderLimit,
    budget,
    budget_loops,
    budgeted_loop,
    check_time,
    checked_binop,
    checked_filter,
    collect,
    refuse_huge_arguments,
    refuse_huge_result,
)
from engine.compose.segments import check_sms_budget, sms_segments
from engine.errors import TemplateError
from engine.vocabulary import Channel

PARTS_BY_CHANNEL: dict[Channel, tuple[str, ...]] = {Channel.EMAIL: ("subject", "text", "html"), Channel.SMS: ("sms",)}
SMS_MAX_SEGMENTS = 2
SMS_COMPACT = "sms_compact"  # set by render_message: true on the second try of an over-long SMS

# Hidden context variable carrying the per-render Formatter; filters read it, so one shared
# environment serves every locale and time zone at once without any global state.
_FORMATTER = "_forewarn_formatter"
_TEMPLATE_FILE = "<template>"  # what Jinja names frames of templates compiled from strings


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None
    text: str
    html: str | None


class TemplateSet(Mapping[str, str]):
    """The sources (part → template text) for one situation, stage and locale."""

    def __init__(self, situation: str, stage: str, locale: str, sources: Mapping[str, str]) -> None:
        self.situation, self.stage, self.locale = situation, stage, locale
        self._sources = dict(sources)

    def __getitem__(self, part: str) -> str:
        return self._sources[part]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def __repr__(self) -> str:
        return f"TemplateSet({self.situation!r}, {self.stage!r}, {self.locale!r}, parts={sorted(self)})"


def _fmt(context: Context) -> Formatter:
    value = context.get(_FORMATTER)
    if not isinstance(value, Formatter):
        raise TemplateError("formatting filters only work inside render_message()")
    return value


def _now(context: Context) -> object:
    if "now" not in context:
        raise TemplateError("relative dates need `now` in the template context")
    return context["now"]


def _defined(*values: object) -> None:
    """Let a missing variable fail as "unknown variable" rather than as a confusing type error."""
    for value in values:
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()


def _bind(method: str) -> Callable[..., str]:
    @jinja2.pass_context
    def apply(context: Context, value: object, *args: Any, **kwargs: Any) -> str:
        _defined(value, *args)
        result: str = getattr(_fmt(context), method)(value, *args, **kwargs)
        return result

    apply.__name__ = method
    return apply


@jinja2.pass_context
def _relative_day(context: Context, value: object, short: bool = False) -> str:
    _defined(value)
    return _fmt(context).relative_day(value, _now(context), short)


@jinja2.pass_context
def _by_day(context: Context, value: object, short: bool = False) -> str:
    _defined(value)
    return _fmt(context).by_day(value, _now(context), short)


@jinja2.pass_context
def _on_day(context: Context, value: object, short: bool = False) -> str:
    _defined(value)
    return _fmt(context).on_day(value, _now(context), short)


@jinja2.pass_context
def _time_range(context: Context, start: object, end: object) -> str:
    _defined(start, end)
    return _fmt(context).time_range(start, end)


@jinja2.pass_context
def _when(context: Context, value: object, short: bool = False) -> str:
    _defined(value)
    return _fmt(context).when(value, _now(context), short)


@jinja2.pass_context
def _range_to(context: Context, start: object, end: object, short: bool = False) -> str:
    _defined(start, end)
    return _fmt(context).day_range(start, end, _now(context), short)


@jinja2.pass_context
def _days_after(context: Context, later: object, earlier: object) -> int:
    _defined(later, earlier)
    return _fmt(context).days_after(later, earlier)


def _add_days(value: object, days: int) -> object:
    _defined(value)
    return add_days(value, days)


FILTERS: dict[str, Callable[..., Any]] = {
    **{name: _bind(name) for name in ("date", "short_date", "weekday", "time", "datetime")},
    "money": _bind("money"),
    "join_list": _bind("join_list"),
    "relative_day": _relative_day,
    "by_day": _by_day,
    "on_day": _on_day,
    "time_range": _time_range,
    "when": _when,
    "range_to": _range_to,
    "add_days": _add_days,
    "days_after": _days_after,
}


class _ContextEnvironment(ImmutableSandboxedEnvironment):
    """`order.items` means the context's `items` key, never the dict method of the same name.

    Jinja tries attributes before keys, so on a plain dict `order.items`, `.keys` or `.values` would
    print a bound method; in the template context a key always wins. Everything else (and every
    safety check) is the sandbox's.
    """

    # What one render may cost (engine.compose.limits): operators that can build huge values are sized
    # first, every call and loop checks the clock.
    intercepted_binops = frozenset({"*", "**", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return checked_binop(operator, left, right, self.binop_table[operator])

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_time()
        refuse_huge_arguments(args)
        refuse_huge_arguments(kwargs.values())
        # The sandbox hands out str.format wrapped; the string is the bound method's owner.
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str):  # '{:>9999999}'.format(x)
            refuse_huge_arguments([owner])
        return refuse_huge_result(super().call(__context, __obj, *args, **kwargs))

    def _generate(
        self, source: jinja2.nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        return super()._generate(budget_loops(source), name, filename, defer_init)


def _environment(*, autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _ContextEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(FILTERS)
    env.filters = {name: checked_filter(fn) for name, fn in env.filters.items()}
    env.filters[LOOP_FILTER] = budgeted_loop
    env.globals["day_range"] = checked_filter(_range_to)
    return env


_PLAIN = _environment(autoescape=False)  # subject, text, sms
_HTML = _environment(autoescape=True)
SANDBOX_GLOBALS = frozenset(_PLAIN.globals)  # names a template may use that are not context (range, day_range, …)


@lru_cache(maxsize=4096)
def _compile(source: str, html: bool) -> jinja2.Template:
    # Keyed by the source text itself (hashed by lru_cache), so an edited template is a new entry and
    # the thousands of notices rendered from one template version share a single compiled copy.
    return (_HTML if html else _PLAIN).from_string(source)


def template_ast(source: str) -> jinja2.nodes.Template:
    """The parsed template, as the renderer reads it (for analysing what a template looks at)."""
    try:
        return _PLAIN.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: syntax error: {exc}") from exc


def _template_line(tb: TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _TEMPLATE_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


_RENDER_ERRORS = (jinja2.TemplateError, TemplateError, TypeError, ValueError, ArithmeticError, LookupError)


def render_part(part: str, source: str, variables: Mapping[str, Any]) -> str:
    """Render one part within the render budget (engine.compose.limits); every failure becomes a
    TemplateError naming the part and the line."""
    try:
        with budget():
            return collect(_compile(source, part == "html").generate(variables))
    except RecursionError:
        # A macro calling itself without end: the stack is unwound by now, so this is safe to report.
        raise TemplateError(f"{part} template: a macro calls itself too deeply") from None
    except _RENDER_ERRORS as exc:
        line: int | None
        if isinstance(exc, jinja2.TemplateSyntaxError):
            line, kind = exc.lineno, "syntax error"
        else:
            line, kind = _template_line(exc.__traceback__), _describe(exc)
        where = f"{part} template, line {line}" if line else f"{part} template"
        raise TemplateError(f"{where}: {kind}: {exc}") from exc


@dataclass(frozen=True)
class PartProblem:
    """Why one part failed to render, with the line in that part's source when Jinja knows it."""

    part: str
    line: int | None
    kind: str  # "syntax error", "unknown variable", "not allowed in templates", …
    detail: str


def try_render_part(part: str, source: str, variables: Mapping[str, Any]) -> str | PartProblem:
    """`render_part` for previews: the text, or the problem as data (the same sandbox, the same rules)."""
    try:
        return _compile(source, part == "html").render(variables)
    except _RENDER_ERRORS as exc:
        if isinstance(exc, jinja2.TemplateSyntaxError):
            return PartProblem(part, exc.lineno, "syntax error", str(exc.message or exc))
        return PartProblem(part, _template_line(exc.__traceback__), _describe(exc), str(exc))


def preview_variables(
    context: Mapping[str, Any], *, locale: str, timezone: str, compact: bool = False
) -> dict[str, Any]:
    """The variables `render_message` renders with (the formatter for this locale and zone included)."""
    return {**context, _FORMATTER: formatter(locale, timezone), SMS_COMPACT: compact}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return "unknown variable"
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return "not allowed in templates"
    if isinstance(exc, RenderLimit):
        return "over the render limits"
    if isinstance(exc, TemplateError):
        return "formatting failed"
    return type(exc).__name__


def sms_attempts(variables: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """What an over-long SMS gives up, in order: a feed's own (long) order or tracking link for our short
    status page (`links.ours`), the item list ("order A10042" instead of the names), then the template's
    optional details (`sms_compact`), then the link (the email has it; not when the link is what the
    customer must act on, an address to confirm), then the next-update sentence (`next_update_at` None:
    the engine still keeps it; the email says it), and only last the customer's first name. When we'll
    write again is worth more than a link: it is the promise the engine keeps."""
    yield variables
    links = variables.get("links")
    ours = links.get("ours") if isinstance(links, Mapping) else None
    if isinstance(links, Mapping) and ours and any(links.get(k) not in (None, ours) for k in ("tracking", "order")):
        variables = {**variables, "links": {**links, **{k: ours for k in ("tracking", "order") if links.get(k)}}}
        yield variables
    order = variables.get("order")
    if isinstance(order, Mapping) and order.get("items_short") and order.get("items") != order["items_short"]:
        short = str(order["items_short"])
        order = {**order, "items": short, "items_title": short[:1].upper() + short[1:], "plural": False}
        variables = {**variables, "order": order}
        yield variables
    variables = {**variables, SMS_COMPACT: True}
    yield variables
    if isinstance(links, Mapping) and variables.get("next_update_at") is not None and not _acts_on_link(variables):
        yield {**variables, "links": dict.fromkeys(links)}
    if variables.get("next_update_at") is not None:
        variables = {**variables, "next_update_at": None}
        yield variables
    customer = variables.get("customer")
    if isinstance(customer, Mapping) and customer.get("first_name"):
        yield {**variables, "customer": {**customer, "first_name": ""}}


def _acts_on_link(variables: Mapping[str, Any]) -> bool:
    """The customer is asked to do something at the link (confirm the delivery address)."""
    shipment = variables.get("shipment")
    return isinstance(shipment, Mapping) and shipment.get("exception") == "address"


def _render_sms(source: str, variables: dict[str, Any]) -> str:
    """Render; while it is over budget (a long name, or one accent that forces UCS-2), render again giving
    up a little more each time (`sms_attempts`); only then is it an error."""
    text = ""
    for attempt in sms_attempts(variables):
        text = clean_sms(render_part("sms", source, attempt))
        if not text:
            raise TemplateError("sms template: the message is empty")
        if sms_segments(text).segments <= SMS_MAX_SEGMENTS:
            return text
    try:
        check_sms_budget(text, SMS_MAX_SEGMENTS)
    except TemplateError as exc:
        raise TemplateError(f"sms template (even with sms_compact): {exc}") from exc
    return text


def render_message(
    sources: Mapping[str, str],
    context: Mapping[str, Any],
    *,
    channel: Channel,
    locale: str,
    timezone: str,
) -> RenderedMessage:
    """Render an email (subject, text, html) or an SMS (sms → text) for one customer.

    `locale` should be the locale the templates were written in (`TemplateSet.locale`), so dates
    read in the same language as the words around them; `timezone` is the customer's IANA zone.
    """
    parts = PARTS_BY_CHANNEL[channel]
    missing = [part for part in parts if part not in sources]
    if missing:
        raise TemplateError(f"{channel} needs the template parts {', '.join(missing)}")
    variables = {**context, _FORMATTER: formatter(locale, timezone), SMS_COMPACT: False}
    with budget():  # one budget for all of a message's parts
        return _render_parts(sources, variables, channel=channel)


def _render_parts(sources: Mapping[str, str], variables: dict[str, Any], *, channel: Channel) -> RenderedMessage:
    if channel == Channel.SMS:
        return RenderedMessage(subject=None, text=_render_sms(sources["sms"], variables), html=None)
    subject = clean_subject(render_part("subject", sources["subject"], variables))
    text = clean_text(render_part("text", sources["text"], variables))
    if not text.strip():
        raise TemplateError("text template: the message is empty")
    html = render_part("html", sources["html"], variables).strip() + "\n"
    return RenderedMessage(subject=subject, text=text, html=html)
