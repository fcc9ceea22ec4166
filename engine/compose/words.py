"""The few words and patterns per language that Babel does not give: "today", "or", "by Friday".

A language missing here formats its dates and times with Babel alone (in its own language) and these
words in English; adding one is a column of `_PHRASES` and an entry of `_OWN`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _no_article(hour: int) -> str:
    return ""


def _same(a: str, b: str) -> str:
    return a


def _bare(day: str) -> str:
    return day


def _pattern(pattern: str) -> Callable[[str], str]:
    def apply(day: str) -> str:
        return pattern.format(day=day)

    return apply


@dataclass(frozen=True)
class Words:
    long_date: str  # Babel pattern: "Friday, 13 March"
    short_date: str  # "Fri 13 Mar"
    numeric_date: str  # far-off days in an SMS whose weekday names are not GSM-7
    today: str
    tomorrow: str
    yesterday: str
    either: str  # two neighbouring days: "{a} or {b}"
    between: str  # a wider window: "between {a} and {b}"
    at_time: str  # the datetime filter: "{day} at {time}"
    named_at: str  # a deadline on a named day: "Monday at 6:00 PM", "el lunes a las 18:00"
    today_at: str  # "{time} today"
    tomorrow_at: str
    by: str  # a deadline day: "by {day}"
    by_today: str  # the same, today: "today" (never "by today")
    short_time: Callable[[int, int], str]  # SMS: "6pm", "18h", "18 Uhr"
    short_weekday: str = "EEE"  # SMS weekday pattern: "Tue"
    # Short (SMS) forms keep to GSM-7 so one word cannot make a text UCS-2 (70 characters a segment):
    # Portuguese "amanhã", "terça" and Spanish "sábado" cannot, so those SMS use "17/03" instead.
    short_tomorrow: bool = True
    short_weekdays: bool = True
    short_at: str | None = None  # SMS deadline: "Mon 6pm" (None: named_at)
    interval: str = "MMMEd"  # Babel skeleton for a range of days beyond the coming week
    short_interval: str = "MMMEd"
    time_suffix: str = "{time}"  # "18:00 Uhr"
    comma_before_time: str = ""  # "sexta-feira, 27 de março, às 18:00"
    article: Callable[[int], str] = field(default=_no_article)  # "às 18:00", "à 1:00"
    shorten_pair: Callable[[str, str], str] = field(default=_same)  # "terça ou quarta-feira"
    # A named day (a weekday or a date, not "today") as the time of an event: "on Tuesday", "am Dienstag",
    # and inside a range or a deadline: Spanish "el martes" ("entre el martes y el viernes", "para el lunes").
    on_day: Callable[[str], str] = field(default=_bare)
    range_day: Callable[[str], str] = field(default=_bare)


def _english_time(hour: int, minute: int) -> str:
    twelve, suffix = (hour % 12 or 12), ("am" if hour < 12 else "pm")
    return f"{twelve}:{minute:02d}{suffix}" if minute else f"{twelve}{suffix}"


def _portuguese_article(hour: int) -> str:
    return "à" if hour in (0, 1) else "às"  # the article agrees with the hour


def _portuguese_on(day: str) -> str:
    # "na terça-feira", "no sábado": the weekday's gender; a numeric date takes "em" ("em 17/03").
    if day[:1].isdigit():
        return f"em {day}"
    return f"no {day}" if day.startswith(("sábado", "domingo", "sáb", "dom")) else f"na {day}"


def _feira(a: str, b: str) -> str:
    return a.removesuffix("-feira") if a.endswith("-feira") and b.endswith("-feira") else a


def _spanish_article(hour: int) -> str:
    return "a la" if hour in (1, 13) else "a las"


LANGUAGES = ("en", "pt", "es", "de", "ja")

# The words every language has: a row a word, a column a language (in the order of LANGUAGES), so one
# word reads across them all.
_PHRASES: dict[str, tuple[str, str, str, str, str]] = {
    "long_date": ("EEEE, d MMMM", "EEEE, d 'de' MMMM", "EEEE, d 'de' MMMM", "EEEE, d. MMMM", "M月d日(EEE)"),
    "short_date": ("EEE d MMM", "EEE, d 'de' MMM", "EEE, d MMM", "EEE, d. MMM", "M月d日(EEE)"),
    "numeric_date": ("EEE d MMM", "dd/MM", "dd/MM", "dd.MM.", "M/d"),
    "today": ("today", "hoje", "hoy", "heute", "本日"),
    "tomorrow": ("tomorrow", "amanhã", "mañana", "morgen", "明日"),
    "yesterday": ("yesterday", "ontem", "ayer", "gestern", "昨日"),
    "either": ("{a} or {b}", "{a} ou {b}", "{a} o {b}", "{a} oder {b}", "{a}か{b}"),
    "between": ("between {a} and {b}", "entre {a} e {b}", "entre {a} y {b}", "zwischen {a} und {b}", "{a}から{b}の間"),
    "at_time": ("{day} at {time}", "{day} {as_} {time}", "{day} {as_} {time}", "{day} um {time}", "{day} {time}"),
    "named_at": ("{day} at {time}", "{day} {as_} {time}", "{day} {as_} {time}", "{day} um {time}", "{day} {time}"),
    "today_at": ("{time} today", "hoje {as_} {time}", "hoy {as_} {time}", "heute um {time}", "本日{time}"),
    "tomorrow_at": ("{time} tomorrow", "amanhã {as_} {time}", "mañana {as_} {time}", "morgen um {time}", "明日{time}"),
    "by": ("by {day}", "até {day}", "para {day}", "bis {day}", "{day}までに"),
    "by_today": ("today", "hoje", "hoy", "heute", "本日中に"),
}

# What only some languages need: their short (SMS) forms, articles and the way a named day is said.
_OWN: dict[str, dict[str, Any]] = {
    "en": {"short_time": _english_time, "short_at": "{day} {time}", "on_day": _pattern("on {day}")},
    "pt": {
        "short_time": lambda h, m: f"{h}h{m:02d}" if m else f"{h}h",
        "short_tomorrow": False,
        "short_weekdays": False,
        "short_interval": "Md",
        "comma_before_time": ",",
        "article": _portuguese_article,
        "shorten_pair": _feira,
        "on_day": _portuguese_on,
    },
    "es": {
        "short_time": lambda h, m: f"{h}:{m:02d}",
        "short_weekdays": False,  # "sábado", "miércoles" abbreviated are not all GSM-7
        "short_interval": "Md",
        "comma_before_time": ",",
        "article": _spanish_article,
        "on_day": _pattern("el {day}"),
        "range_day": _pattern("el {day}"),
    },
    "de": {
        "short_time": lambda h, m: f"{h}:{m:02d} Uhr" if m else f"{h} Uhr",
        "short_at": "{day} {time}",
        "short_weekday": "EEEE",  # "Dienstag": GSM-7, and "Di." would end a sentence twice ("Di.. ")
        "short_interval": "Md",
        "time_suffix": "{time} Uhr",
        "on_day": _pattern("am {day}"),
    },
    # Japanese SMS are UCS-2 whatever the date looks like (2 segments are 134 characters), so its short
    # forms only need to be short.
    "ja": {
        "short_time": lambda h, m: f"{h}時{m}分" if m else f"{h}時",
        "short_at": "{day}{time}",
        "on_day": _pattern("{day}に"),
    },
}


def _words(column: int, language: str) -> Words:
    phrases: dict[str, Any] = {name: row[column] for name, row in _PHRASES.items()}
    return Words(**phrases, **_OWN[language])


WORDS: dict[str, Words] = {language: _words(column, language) for column, language in enumerate(LANGUAGES)}
ENGLISH = WORDS["en"]
