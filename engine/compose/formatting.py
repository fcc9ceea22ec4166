"""Dates, times, money and lists as a customer reads them: in their language and their own time zone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime as DateTime
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.numbers import format_currency

from engine.errors import TemplateError

DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class _Words:
    """Patterns and the handful of words Babel does not provide, per language."""

    long_date: str
    short_date: str
    numeric_date: str  # far-off days in an SMS
    today: str
    tomorrow: str
    yesterday: str
    either: str  # two neighbouring days: "{a} or {b}"
    between: str  # a wider window: "between {a} and {b}"
    at_time: str  # "{day} at {time}"
    today_at: str  # "{time} today"
    tomorrow_at: str
    # Short (SMS) forms keep to GSM-7 so one word cannot make a text UCS-2 (70 characters a segment):
    # Portuguese "amanhã", "terça" and "sábado" cannot, so short Portuguese days are "hoje" or "17/03".
    short_numeric: bool = False


_ENGLISH = _Words(
    long_date="EEEE, d MMMM",
    short_date="EEE d MMM",
    numeric_date="EEE d MMM",
    today="today",
    tomorrow="tomorrow",
    yesterday="yesterday",
    either="{a} or {b}",
    between="between {a} and {b}",
    at_time="{day} at {time}",
    today_at="{time} today",
    tomorrow_at="{time} tomorrow",
)
_PORTUGUESE = _Words(
    long_date="EEEE, d 'de' MMMM",
    short_date="EEE, d 'de' MMM",
    numeric_date="dd/MM",
    today="hoje",
    tomorrow="amanhã",
    yesterday="ontem",
    either="{a} ou {b}",
    between="entre {a} e {b}",
    at_time="{day} {as_} {time}",
    today_at="hoje {as_} {time}",
    tomorrow_at="amanhã {as_} {time}",
    short_numeric=True,
)
_WORDS = {"en": _ENGLISH, "pt": _PORTUGUESE}


def babel_locale(tag: str) -> Locale:
    """`pt-BR` or `pt_BR` → Babel's `pt_BR`; anything Babel does not know → English."""
    return _babel_locale(tag.strip().replace("_", "-"))


@lru_cache(maxsize=256)
def _babel_locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TemplateError(f"unknown time zone {name!r} (use an IANA name like 'America/Sao_Paulo')") from exc


class Formatter:
    """Formats values for one locale and one time zone; immutable, so one instance serves many threads."""

    def __init__(self, locale: str, timezone: str) -> None:
        self.locale = babel_locale(locale)
        self.zone = _zone(timezone)
        self.words = _WORDS.get(self.locale.language, _ENGLISH)
        self._known = self.locale.language in _WORDS

    def local(self, moment: object, what: str = "date") -> DateTime:
        """The aware moment in the customer's zone; None and naive datetimes are template bugs."""
        if not isinstance(moment, DateTime):
            got = "None (guard it with {% if ... %})" if moment is None else type(moment).__name__
            raise TemplateError(f"the {what} filter needs a datetime, got {got}")
        if moment.tzinfo is None:
            raise TemplateError(f"the {what} filter got a naive datetime; the engine passes aware UTC")
        return moment.astimezone(self.zone)

    def date(self, moment: object) -> str:
        local = self.local(moment, "date")
        if self._known:
            return _plain(format_date(local, self.words.long_date, locale=self.locale))
        return _plain(format_date(local, "full", locale=self.locale))

    def short_date(self, moment: object) -> str:
        local = self.local(moment, "short_date")
        if self._known:
            return _plain(format_date(local, self.words.short_date, locale=self.locale))
        return _plain(format_date(local, "medium", locale=self.locale))

    def weekday(self, moment: object) -> str:
        return _plain(format_date(self.local(moment, "weekday"), "EEEE", locale=self.locale))

    def time(self, moment: object, short: bool = False) -> str:
        """ "6:00 PM" / "18:00"; short for SMS: "6pm" / "18h"."""
        local = self.local(moment, "time")
        if not short:
            return _plain(format_time(local, "short", locale=self.locale))
        if self.locale.language == "pt":
            return f"{local.hour}h{local.minute:02d}" if local.minute else f"{local.hour}h"
        hour, suffix = (local.hour % 12 or 12), ("am" if local.hour < 12 else "pm")
        return f"{hour}:{local.minute:02d}{suffix}" if local.minute else f"{hour}{suffix}"

    def datetime(self, moment: object) -> str:
        local = self.local(moment, "datetime")
        return self._at(self.date(local), local, short=False)

    def relative_day(self, moment: object, now: object, short: bool = False) -> str:
        """today / tomorrow / yesterday, a weekday name within the coming week, else the date."""
        day = self.local(moment, "relative_day").date()
        return self._day_label(day, self.local(now, "relative_day (context `now`)").date(), short)

    def when(self, moment: object, now: object, short: bool = False) -> str:
        """A deadline as people say it: "6:00 PM today", "Monday at 6:00 PM" (short: "Mon 6pm")."""
        local = self.local(moment, "when")
        today = self.local(now, "when (context `now`)").date()
        time, as_ = self.time(local, short), _as(local)
        if local.date() == today:
            return self.words.today_at.format(time=time, as_=as_)
        if local.date() == today + timedelta(days=1) and not (short and self.words.short_numeric):
            return self.words.tomorrow_at.format(time=time, as_=as_)
        return self._at(self._day_label(local.date(), today, short), local, short)

    def day_range(self, start: object, end: object, now: object, short: bool = False) -> str:
        """One day, "Tuesday or Wednesday" for neighbouring days, else "between Tuesday and Friday"."""
        first = self.local(start, "range_to").date()
        last = self.local(end, "range_to").date()
        first, last = min(first, last), max(first, last)
        today = self.local(now, "range_to (context `now`)").date()
        a, b = self._day_label(first, today, short), self._day_label(last, today, short)
        if first == last:
            return a
        if a.endswith("-feira") and b.endswith("-feira"):
            a = a.removesuffix("-feira")  # "terça ou quarta-feira", as Brazilians say it
        if last - first == timedelta(days=1):
            return self.words.either.format(a=a, b=b)
        return self.words.between.format(a=a, b=b)

    def days_after(self, later: object, earlier: object) -> int:
        """Calendar days from `earlier` to `later` on the customer's own calendar (1 = the next day)."""
        return (self.local(later, "days_after").date() - self.local(earlier, "days_after").date()).days

    def money(self, value: object, currency: str | None = None) -> str:
        """`{amount, currency}` mappings (as in `order.total`) or an amount plus a currency code."""
        if isinstance(value, Mapping):
            amount, currency = value.get("amount"), currency or value.get("currency")
        else:
            amount = value
        if amount is None or not currency:
            raise TemplateError("the money filter needs an amount and a currency (guard None with {% if %})")
        try:
            number = Decimal(str(amount))
        except InvalidOperation as exc:
            raise TemplateError(f"the money filter got a non-number amount {amount!r}") from exc
        return _plain(format_currency(number, str(currency), locale=self.locale))

    def join_list(self, items: object) -> str:
        """["checkout", "payments"] → "checkout and payments" / "checkout e payments"."""
        if isinstance(items, str) or not isinstance(items, Sequence):
            raise TemplateError("the join_list filter needs a list of words")
        words = [str(item) for item in items]
        return _plain(format_list(words, locale=self.locale)) if words else ""

    def _day_label(self, day: Date, today: Date, short: bool) -> str:
        offset = (day - today).days
        if offset == 0:
            return self.words.today
        if offset == -1:
            return self.words.yesterday
        numeric = short and self.words.short_numeric
        if offset == 1 and not numeric:
            return self.words.tomorrow
        noon = DateTime(day.year, day.month, day.day, 12, tzinfo=self.zone)
        if 1 < offset < 7 and not numeric:
            if short:
                return _plain(format_date(noon, "EEE", locale=self.locale))  # "Tue"
            return _plain(format_date(noon, "EEEE", locale=self.locale))
        if short:
            pattern = self.words.numeric_date if self._known else "short"
            return _plain(format_date(noon, pattern, locale=self.locale))
        return self.date(noon)

    def _at(self, day_label: str, local: DateTime, short: bool) -> str:
        time = self.time(local, short)
        if short and self.locale.language == "en":
            return f"{day_label} {time}"  # "Mon 6pm"
        if self.locale.language == "pt" and "," in day_label:
            day_label += ","  # "sexta-feira, 27 de março, às 18:00"
        return self.words.at_time.format(day=day_label, time=time, as_=_as(local))


def _plain(value: object) -> str:
    """CLDR puts narrow and non-breaking spaces in "6:00 PM" and "R$ 109,29"; either one would turn an
    SMS into UCS-2 (70 characters a segment) and some mail clients show them as boxes."""
    return str(value).replace("\u202f", " ").replace("\xa0", " ")


def _as(local: DateTime) -> str:
    """Portuguese "à 1:00" but "às 18:00" (the article agrees with the hour)."""
    return "à" if local.hour in (0, 1) else "às"


@lru_cache(maxsize=512)
def formatter(locale: str, timezone: str) -> Formatter:
    return Formatter(locale, timezone)


def add_days(moment: Any, days: int) -> DateTime:
    """Shift a datetime by whole days so templates can widen an estimate into a window."""
    if not isinstance(moment, DateTime):
        raise TemplateError("the add_days filter needs a datetime (guard None with {% if %})")
    return moment + timedelta(days=int(days))
