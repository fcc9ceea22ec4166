"""Dates, times, money and lists as a customer reads them: in their language and their own time zone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date as Date
from datetime import datetime as DateTime
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_interval, format_time
from babel.lists import format_list
from babel.numbers import format_currency

from engine.compose.words import ENGLISH, WORDS, Words
from engine.errors import TemplateError

DEFAULT_LOCALE = "en"
RELATIVE_HORIZON = 7  # days ahead that are named by their weekday ("Tuesday"); later ones get a date


def babel_locale(tag: str, timezone: str | None = None) -> Locale:
    """`pt-BR` or `pt_BR` → Babel's `pt_BR`; anything Babel does not know → English.

    A tag without a territory takes the customer's, read from their time zone: `en` in New York formats
    as `en_US` ("Friday, March 13", "6:00 PM"), in London as `en_GB` ("Friday, 13 March", "18:00").
    """
    return _babel_locale(tag.strip().replace("_", "-"), timezone or "")


@lru_cache(maxsize=256)
def _babel_locale(tag: str, timezone: str) -> Locale:
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse(DEFAULT_LOCALE)
    territory = get_global("zone_territories").get(timezone) if timezone else None
    if locale.territory is None and territory:
        try:
            return Locale(locale.language, territory, script=locale.script)
        except UnknownLocaleError:
            return locale
    return locale


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TemplateError(f"unknown time zone {name!r} (use an IANA name like 'America/Sao_Paulo')") from exc


class Formatter:
    """Formats values for one locale and one time zone; immutable, so one instance serves many threads."""

    def __init__(self, locale: str, timezone: str) -> None:
        self.zone = _zone(timezone)
        self.locale = babel_locale(locale, timezone)
        self._known = self.locale.language in WORDS
        self.words: Words = WORDS.get(self.locale.language, ENGLISH)
        # The US writes the month first ("Friday, March 13"); the rest of the English-speaking world does not.
        self._long_date = self.words.long_date
        if self.locale.language == "en" and self.locale.territory in ("US", "PH", "UM", "AS", "GU", "MP", "PR", "VI"):
            self._long_date, self._short_date = "EEEE, MMMM d", "EEE, MMM d"
            self._numeric_date = self._short_date
        else:
            self._short_date, self._numeric_date = self.words.short_date, self.words.numeric_date
        self._hour12 = "h" in self.locale.time_formats["short"].pattern
        self._relative = frozenset((self.words.today, self.words.tomorrow, self.words.yesterday))

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
        pattern = self._long_date if self._known else "full"
        return _plain(format_date(local, pattern, locale=self.locale))

    def short_date(self, moment: object) -> str:
        local = self.local(moment, "short_date")
        pattern = self._short_date if self._known else "medium"
        return _plain(format_date(local, pattern, locale=self.locale))

    def weekday(self, moment: object) -> str:
        return _plain(format_date(self.local(moment, "weekday"), "EEEE", locale=self.locale))

    def time(self, moment: object, short: bool = False) -> str:
        """ "6:00 PM" / "18:00"; short for SMS: "6pm" / "18h" / "18 Uhr" / "18時"."""
        local = self.local(moment, "time")
        if short and self._known:
            return self.words.short_time(local.hour, local.minute)
        clock = _plain(format_time(local, "short", locale=self.locale))
        return self.words.time_suffix.format(time=clock) if self._known else clock

    def time_range(self, start: object, end: object) -> str:
        """ "9:58 AM - 3:12 PM" / "09:58-15:12" (CLDR's dashes): Babel's interval format in the customer's locale."""
        first, last = self.local(start, "time_range"), self.local(end, "time_range")
        skeleton = "hm" if self._hour12 else "Hm"
        return _plain(format_interval(first, last, skeleton, tzinfo=self.zone, locale=self.locale))

    def datetime(self, moment: object) -> str:
        local = self.local(moment, "datetime")
        return self._at(self.date(local), local, short=False, named=False)

    def relative_day(self, moment: object, now: object, short: bool = False) -> str:
        """today / tomorrow / yesterday, a weekday name within the coming week, else the date."""
        day = self.local(moment, "relative_day").date()
        return self._day_label(day, self.local(now, "relative_day (context `now`)").date(), short)

    def by_day(self, moment: object, now: object, short: bool = False) -> str:
        """A deadline day: "today", "by tomorrow", "by Friday" / "hoje", "até sexta-feira" / "bis Freitag"."""
        day = self.local(moment, "by_day").date()
        today = self.local(now, "by_day (context `now`)").date()
        if day == today:
            return self.words.by_today
        return self.words.by.format(day=self._day_label(day, today, short, ranged=True))

    def on_day(self, moment: object, now: object, short: bool = False) -> str:
        """When something happens: "today", "on Tuesday" / "hoje", "na terça-feira" / "am Dienstag"."""
        day = self.local(moment, "on_day").date()
        today = self.local(now, "on_day (context `now`)").date()
        label = self._day_label(day, today, short)
        return label if label in self._relative else self.words.on_day(label)

    def when(self, moment: object, now: object, short: bool = False) -> str:
        """A deadline as people say it: "6:00 PM today", "Monday at 6:00 PM" (short: "Mon 6pm")."""
        local = self.local(moment, "when")
        today = self.local(now, "when (context `now`)").date()
        time, article = self.time(local, short), self.words.article(local.hour)
        if local.date() == today:
            return self.words.today_at.format(time=time, as_=article)
        if local.date() == today + timedelta(days=1) and not (short and not self.words.short_tomorrow):
            return self.words.tomorrow_at.format(time=time, as_=article)
        return self._at(self._day_label(local.date(), today, short, ranged=True), local, short, named=True)

    def day_range(self, start: object, end: object, now: object, short: bool = False) -> str:
        """One day; "Tuesday or Wednesday" or "between Tuesday and Friday" within the coming week; further
        off, Babel's interval format in the customer's locale ("Sat, Mar 14 - Mon, Mar 16", CLDR's dash)."""
        first = self.local(start, "range_to").date()
        last = self.local(end, "range_to").date()
        first, last = min(first, last), max(first, last)
        today = self.local(now, "range_to (context `now`)").date()
        if first == last:
            return self._day_label(first, today, short)
        named = (first - today).days >= 0 and (last - today).days < RELATIVE_HORIZON
        if not named or (short and not self.words.short_weekdays and (last - first).days > 1):
            return self._interval(first, last, short)
        a, b = self._day_label(first, today, short, ranged=True), self._day_label(last, today, short, ranged=True)
        a = self.words.shorten_pair(a, b)
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

    def _day_label(self, day: Date, today: Date, short: bool, *, ranged: bool = False) -> str:
        label = self._label(day, today, short)
        return self.words.range_day(label) if ranged and label not in self._relative else label

    def _label(self, day: Date, today: Date, short: bool) -> str:
        offset = (day - today).days
        if offset == 0:
            return self.words.today
        if offset == -1:
            return self.words.yesterday
        if offset == 1 and (self.words.short_tomorrow or not short):
            return self.words.tomorrow
        noon = DateTime(day.year, day.month, day.day, 12, tzinfo=self.zone)
        if 1 < offset < RELATIVE_HORIZON and (self.words.short_weekdays or not short):
            return _plain(format_date(noon, self.words.short_weekday if short else "EEEE", locale=self.locale))
        if short:
            pattern = self._numeric_date if self._known else "short"
            return _plain(format_date(noon, pattern, locale=self.locale))
        return self.date(noon)

    def _interval(self, first: Date, last: Date, short: bool) -> str:
        skeleton = self.words.short_interval if short else self.words.interval
        text = _plain(format_interval(first, last, skeleton, locale=self.locale))
        return text.replace("\u2013", "-") if short else text  # an en dash would make an SMS UCS-2

    def _at(self, day_label: str, local: DateTime, short: bool, *, named: bool) -> str:
        time = self.time(local, short)
        if short and self.words.short_at:
            return self.words.short_at.format(day=day_label, time=time)
        if "," in day_label:
            day_label += self.words.comma_before_time  # "sexta-feira, 27 de março, às 18:00"
        pattern = self.words.named_at if named else self.words.at_time
        return pattern.format(day=day_label, time=time, as_=self.words.article(local.hour))


def _plain(value: object) -> str:
    """CLDR puts narrow and non-breaking spaces in "6:00 PM" and "R$ 109,29"; either one would turn an
    SMS into UCS-2 (70 characters a segment) and some mail clients show them as boxes."""
    return str(value).replace("\u202f", " ").replace("\xa0", " ").replace("\u2009", " ")


@lru_cache(maxsize=512)
def formatter(locale: str, timezone: str) -> Formatter:
    return Formatter(locale, timezone)


def add_days(moment: Any, days: int) -> DateTime:
    """Shift a datetime by whole days so templates can widen an estimate into a window."""
    if not isinstance(moment, DateTime):
        raise TemplateError("the add_days filter needs a datetime (guard None with {% if %})")
    return moment + timedelta(days=int(days))
