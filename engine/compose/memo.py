"""Render one message for many recipients without rendering what they share again and again.

A fan-out renders the same template version for up to 100,000 customers. What a template prints
depends only on the context values it reads, the locale and the time zone; many customers share all
of those (the same first name, language and zone), so `RenderMemo.render` remembers each result under
exactly those values and gives back what `render_message` would have given.

What a template reads is found from its syntax tree, conservatively: `customer.first_name` is one
value; `customer` used any other way (passed whole to a filter, indexed, assigned) is the whole dict.
A template that calls `lipsum` (random) is never memoised, nor is a failed render.

The unsubscribe link differs for every customer, so memoising on it would share nothing. Where a
template only prints it (`{{ links.unsubscribe }}`, directly in the page, not through a filter, macro
or captured block) or tests it (`{% if links.unsubscribe %}`), the message is rendered once with a
placeholder and each customer's link is put in its place afterwards: printing a plain string is the
string itself (HTML-escaped in the HTML part), the placeholder and a link are both non-empty, and
neither holds whitespace, so tidying the text afterwards treats them alike. A template that uses the
link any other way is rendered for each customer, as `render_message` would.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import markupsafe
from jinja2 import nodes

from engine.compose.render import PARTS_BY_CHANNEL, RenderedMessage, render_message, template_ast
from engine.errors import TemplateError
from engine.vocabulary import Channel

Path = tuple[str, ...]  # ("customer",) or ("customer", "first_name")

# Context values put in after rendering: a template may print or test them, nothing more.
SPLICED: frozenset[Path] = frozenset({("links", "unsubscribe")})
# Printable ASCII without spaces: tidying a message (strip, collapse spaces) cannot tell it from the placeholder.
_SPLICEABLE_VALUE = re.compile(r"[!-~]+")
_NONDETERMINISTIC = frozenset({"lipsum"})
_ABSENT = ("<absent>",)
_PLACEHOLDER = ("<spliced>",)
# Nodes a printed link may sit inside without anything changing the printed text on its way out.
_TRANSPARENT = (nodes.Template, nodes.Output, nodes.If, nodes.For)
_BODY_FIELDS = frozenset({"body", "elif_", "else_", "nodes"})


class _Unmemoisable(Exception):
    """A value whose identity cannot be captured in a key; render this one directly."""


@dataclass(frozen=True)
class Reads:
    """What a set of template parts can read from the context."""

    paths: tuple[Path, ...]
    spliced: frozenset[Path]  # paths only printed or tested, filled in after rendering
    memoisable: bool

    @property
    def plan(self) -> tuple[tuple[str, str | None, bool], ...]:
        """(name, attribute or None, spliceable) per path, for the key loop."""
        return tuple((p[0], p[1] if len(p) > 1 else None, p in self.spliced) for p in self.paths)


@dataclass
class _Occurrence:
    path: Path
    spliceable: bool


def _visit(node: nodes.Node, trail: list[tuple[nodes.Node, str]], found: list[_Occurrence]) -> None:
    """Record every context read under `node`; `trail` holds (ancestor, field it was entered through)."""
    if isinstance(node, nodes.Name) and node.ctx == "load":
        parent = trail[-1][0] if trail else None
        if isinstance(parent, nodes.Getattr) and parent.node is node:
            found.append(_Occurrence((node.name, parent.attr), _printed_or_tested(parent, trail[:-1])))
        else:
            found.append(_Occurrence((node.name,), False))
    for field in node.fields:
        value = getattr(node, field, None)
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, nodes.Node):
                trail.append((node, field))
                _visit(child, trail, found)
                trail.pop()


def _printed_or_tested(getattr_node: nodes.Getattr, trail: list[tuple[nodes.Node, str]]) -> bool:
    if not trail:
        return False
    holder, field = trail[-1]
    direct = (isinstance(holder, nodes.Output) and field == "nodes") or (
        isinstance(holder, nodes.If) and field == "test" and holder.test is getattr_node
    )
    if not direct:
        return False
    # Above that, only plain template structure: no filter block, macro, call or captured `set` block.
    for ancestor, entered_by in trail[:-1]:
        if not isinstance(ancestor, _TRANSPARENT):
            return False
        if isinstance(ancestor, nodes.For) and entered_by not in _BODY_FIELDS:
            return False
    return True


@lru_cache(maxsize=512)
def analyse(sources: tuple[tuple[str, str], ...]) -> Reads:
    """What the parts (part name, source) read, together."""
    found: list[_Occurrence] = []
    for _part, source in sources:
        try:
            _visit(template_ast(source), [], found)
        except TemplateError:
            return Reads((), frozenset(), memoisable=False)  # render_message reports the syntax error
    names = {occurrence.path[0] for occurrence in found}
    paths = tuple(sorted({occurrence.path for occurrence in found}))
    spliced = frozenset(
        path for path in SPLICED if path in paths and all(o.spliceable for o in found if o.path == path)
    )
    return Reads(paths, spliced, memoisable=not (names & _NONDETERMINISTIC))


def _freeze(value: Any) -> Any:
    """A hashable stand-in that differs whenever printing or testing the value could differ.

    Types are part of it (1, 1.0 and True are equal in Python but print differently); an aware datetime
    carries its zone, since equal instants in two zones print differently.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float:
        return (kind, value)
    if value is None or kind is bool:
        return value
    if isinstance(value, datetime):
        return (kind, value, value.tzinfo, value.fold)
    if isinstance(value, Mapping):
        return (Mapping, tuple((key, _freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return (kind, tuple(_freeze(item) for item in value))
    if isinstance(value, str | int | float | Decimal | date | time | timedelta):
        return (kind, value, getattr(value, "tzinfo", None))
    raise _Unmemoisable(kind.__name__)


@lru_cache(maxsize=512)
def _plan(reads: Reads) -> tuple[tuple[str, str | None, bool], ...]:
    return reads.plan


class RenderMemo:
    """`render_message` with memory; one per fan-out, so it holds at most `capacity` messages."""

    def __init__(self, *, capacity: int = 16384) -> None:
        self.capacity = capacity
        self._cache: OrderedDict[Any, tuple[RenderedMessage, frozenset[Path]]] = OrderedDict()
        self._placeholder = f"fwspliced{secrets.token_hex(12)}"
        self.renders = 0  # how many times a template actually ran
        self.hits = 0

    def render(
        self,
        sources: Mapping[str, str],
        context: Mapping[str, Any],
        *,
        channel: Channel,
        locale: str,
        timezone: str,
    ) -> RenderedMessage:
        """Exactly `render_message(sources, context, channel=…, locale=…, timezone=…)`."""
        parts = tuple((part, sources[part]) for part in PARTS_BY_CHANNEL[channel] if part in sources)
        reads = analyse(parts)
        if not reads.memoisable or len(parts) != len(PARTS_BY_CHANNEL[channel]):
            return self._direct(sources, context, channel=channel, locale=locale, timezone=timezone)
        # The key, flat: per path its type then its value for plain scalars, the value alone for None and
        # booleans, a frozen tuple otherwise. Each encoding's first item says how long it is, so two
        # different sets of values never give the same key.
        key: list[Any] = [channel, locale, timezone, parts]
        splices: dict[Path, str] = {}
        email = channel == Channel.EMAIL  # an SMS's length decides its wording: every text is rendered whole
        try:
            for name, attr, spliceable in _plan(reads):
                value = context.get(name, _ABSENT)
                if value is _ABSENT:  # a name the template sets itself (`{% set d = delivery %}`, then `d.late`):
                    key.append(value)  # its value comes from the context reads keyed here anyway
                    continue
                if attr is not None:
                    if (type(value) is dict or isinstance(value, Mapping)) and attr in value:
                        value = value[attr]
                    else:  # the renderer falls back to the object's attribute (None.x is an error)
                        key.append(("<whole>", _freeze(value)))
                        continue
                kind = type(value)
                if spliceable and email and kind is str and _SPLICEABLE_VALUE.fullmatch(value):
                    splices[(name, attr or "")] = value
                    key.append(_PLACEHOLDER)
                elif kind is str or kind is int or kind is float:
                    key.append(kind)
                    key.append(value)
                elif value is None or kind is bool:
                    key.append(value)
                else:
                    key.append(_freeze(value))
        except _Unmemoisable:
            return self._direct(sources, context, channel=channel, locale=locale, timezone=timezone)
        frozen = tuple(key)
        cached = self._recall(frozen)
        if cached is None:
            rendered = self._direct(
                sources, self._with_placeholders(context, splices), channel=channel, locale=locale, timezone=timezone
            )
            cached = self._remember(frozen, (rendered, frozenset(splices)))
        message, spliced = cached
        if not spliced:
            return message
        return self._splice(message, {path: splices[path] for path in spliced})

    def _recall(self, key: tuple[Any, ...]) -> tuple[RenderedMessage, frozenset[Path]] | None:
        cached = self._cache.get(key)
        if cached is not None:
            self.hits += 1
            self._cache.move_to_end(key)
        return cached

    def _remember(
        self, key: tuple[Any, ...], entry: tuple[RenderedMessage, frozenset[Path]]
    ) -> tuple[RenderedMessage, frozenset[Path]]:
        self._cache[key] = entry
        if len(self._cache) > self.capacity:  # the oldest use goes first
            self._cache.popitem(last=False)
        return entry

    def _direct(
        self, sources: Mapping[str, str], context: Mapping[str, Any], *, channel: Channel, locale: str, timezone: str
    ) -> RenderedMessage:
        self.renders += 1
        return render_message(sources, context, channel=channel, locale=locale, timezone=timezone)

    def _with_placeholders(self, context: Mapping[str, Any], splices: Mapping[Path, str]) -> Mapping[str, Any]:
        if not splices:
            return context
        patched = dict(context)
        for name, attr in splices:
            patched[name] = {**patched[name], attr: self._placeholder_for((name, attr))}
        return patched

    def _placeholder_for(self, path: Path) -> str:
        return f"{self._placeholder}{'x'.join(path)}"

    def _splice(self, message: RenderedMessage, values: Mapping[Path, str]) -> RenderedMessage:
        if not values:
            return message
        subject, text, html = message.subject, message.text, message.html
        for path, value in values.items():
            marker = self._placeholder_for(path)
            subject = subject.replace(marker, value) if subject is not None else None
            text = text.replace(marker, value)
            html = html.replace(marker, str(markupsafe.escape(value))) if html is not None else None
        return RenderedMessage(subject=subject, text=text, html=html)
