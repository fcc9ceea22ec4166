"""The few words and patterns per language that Babel does not give: "today", "or", "by Friday".

A language missing here formats its dates and times with Babel alone (in its own language) and these
words in English; adding one is one `Words` entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


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


ENGLISH = Words(
    long_date="EEEE, d MMMM",
    short_date="EEE d MMM",
    numeric_date="EEE d MMM",
    today="today",
    tomorrow="tomorrow",
    yesterday="yesterday",
    either="{a} or {b}",
    between="between {a} and {b}",
    at_time="{day} at {time}",
    named_at="{day} at {time}",
    today_at="{time} today",
    tomorrow_at="{time} tomorrow",
    by="by {day}",
    by_today="today",
    short_time=_english_time,
    short_at="{day} {time}",
    on_day=_pattern("on {day}"),
)


def _portuguese_article(hour: int) -> str:
    return "à" if hour in (0, 1) else "às"  # the article agrees with the hour


def _portuguese_on(day: str) -> str:
    # "na terça-feira", "no sábado": the weekday's gender; a numeric date takes "em" ("em 17/03").
    if day[:1].isdigit():
        return f"em {day}"
    return f"no {day}" if day.startswith(("sábado", "domingo", "sáb", "dom")) else f"na {day}"


def _feira(a: str, b: str) -> str:
    return a.removesuffix("-feira") if a.endswith("-feira") and b.endswith("-feira") else a


PORTUGUESE = Words(
    long_date="EEEE, d 'de' MMMM",
    short_date="EEE, d 'de' MMM",
    numeric_date="dd/MM",
    today="hoje",
    tomorrow="amanhã",
    yesterday="ontem",
    either="{a} ou {b}",
    between="entre {a} e {b}",
    at_time="{day} {as_} {time}",
    named_at="{day} {as_} {time}",
    today_at="hoje {as_} {time}",
    tomorrow_at="amanhã {as_} {time}",
    by="até {day}",
    by_today="hoje",
    short_time=lambda h, m: f"{h}h{m:02d}" if m else f"{h}h",
    short_tomorrow=False,
    short_weekdays=False,
    short_interval="Md",
    comma_before_time=",",
    article=_portuguese_article,
    shorten_pair=_feira,
    on_day=_portuguese_on,
)


def _spanish_article(hour: int) -> str:
    return "a la" if hour in (1, 13) else "a las"


SPANISH = Words(
    long_date="EEEE, d 'de' MMMM",
    short_date="EEE, d MMM",
    numeric_date="dd/MM",
    today="hoy",
    tomorrow="mañana",
    yesterday="ayer",
    either="{a} o {b}",
    between="entre {a} y {b}",
    at_time="{day} {as_} {time}",
    named_at="{day} {as_} {time}",
    today_at="hoy {as_} {time}",
    tomorrow_at="mañana {as_} {time}",
    by="para {day}",
    by_today="hoy",
    short_time=lambda h, m: f"{h}:{m:02d}",
    short_weekdays=False,  # "sábado", "miércoles" abbreviated are not all GSM-7
    short_interval="Md",
    comma_before_time=",",
    article=_spanish_article,
    on_day=_pattern("el {day}"),
    range_day=_pattern("el {day}"),
)

GERMAN = Words(
    long_date="EEEE, d. MMMM",
    short_date="EEE, d. MMM",
    numeric_date="dd.MM.",
    today="heute",
    tomorrow="morgen",
    yesterday="gestern",
    either="{a} oder {b}",
    between="zwischen {a} und {b}",
    at_time="{day} um {time}",
    named_at="{day} um {time}",
    today_at="heute um {time}",
    tomorrow_at="morgen um {time}",
    by="bis {day}",
    by_today="heute",
    short_time=lambda h, m: f"{h}:{m:02d} Uhr" if m else f"{h} Uhr",
    short_at="{day} {time}",
    short_weekday="EEEE",  # "Dienstag": GSM-7, and "Di." would end a sentence twice ("Di.. ")
    short_interval="Md",
    time_suffix="{time} Uhr",
    on_day=_pattern("am {day}"),
)

# Japanese SMS are UCS-2 whatever the date looks like (2 segments are 134 characters), so its short
# forms only need to be short.
JAPANESE = Words(
    long_date="M月d日(EEE)",
    short_date="M月d日(EEE)",
    numeric_date="M/d",
    today="本日",
    tomorrow="明日",
    yesterday="昨日",
    either="{a}か{b}",
    between="{a}から{b}の間",
    at_time="{day} {time}",
    named_at="{day} {time}",
    today_at="本日{time}",
    tomorrow_at="明日{time}",
    by="{day}までに",
    by_today="本日中に",
    short_time=lambda h, m: f"{h}時{m}分" if m else f"{h}時",
    short_at="{day}{time}",
    on_day=_pattern("{day}に"),
)

WORDS: dict[str, Words] = {"en": ENGLISH, "pt": PORTUGUESE, "es": SPANISH, "de": GERMAN, "ja": JAPANESE}
