"""What the seed templates say in each shipped language, as the tests look for it.

One table per claim, so a test can ask "does this message say the order is late?" in any language,
and the golden files, the checklist and the replay check all read the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

LOCALES = ("en", "pt-BR", "es", "de", "ja")

# The first line of an email body, with and without a name.
GREETING = {
    "en": ("Hi {name},", "Hi there,"),
    "pt-BR": ("Olá, {name},", "Olá,"),
    "es": ("Hola, {name}:", "Hola:"),
    "de": ("Hallo {name},", "Hallo,"),
    "ja": ("{full} 様", "お客様"),
}
STOP = {
    "en": ("Reply STOP to opt out.",),
    "pt-BR": ("Responda STOP para sair.", "Para sair: STOP."),
    "es": ("Responde STOP para darte de baja.", "Baja: responde STOP."),
    "de": ("Antworte STOP zum Abmelden.", "Abmelden: STOP antworten.", "Abmelden mit STOP."),
    "ja": ("配信停止はSTOPと返信",),
}

# EMPATHY.md, "Words that break trust", and their usual equivalents in each language.
BANNED = {
    "en": (
        "unfortunately",
        "as per our policy",
        "please be advised",
        "we apologize for any inconvenience",
        "apologize for any inconvenience",
        "valued customer",
        "circumstances beyond our control",
        "kindly",
        "you should have",
        "edd",
        "exception scan",
        "p1 incident",
        "guaranteed",
    ),
    "pt-BR": (
        "infelizmente",
        "prezado cliente",
        "conforme nossa política",
        "informamos que",
        "pedimos desculpas pelo transtorno",
        "qualquer inconveniente",
        "alheios à nossa vontade",
        "garantido",
    ),
    "es": (
        "lamentablemente",
        "desafortunadamente",
        "estimado cliente",
        "según nuestra política",
        "le informamos",
        "disculpe las molestias",
        "ajenas a nuestra voluntad",
        "garantizado",
    ),
    "de": (
        "leider müssen wir",
        "sehr geehrte",
        "gemäß unserer richtlinie",
        "wir bitten um ihr verständnis",
        "für etwaige unannehmlichkeiten",
        "höhere gewalt",
        "garantiert",
    ),
    "ja": ("ご不便をおかけする場合があります", "不可抗力", "規定により", "必ずお届け", "保証します"),
}
# Actions no code takes: nobody contacts a carrier, nobody is "sorting it out" without a care task.
FALSE_ACTIONS = (
    "we've asked",
    "we have asked",
    "sorting out the details with",
    "we're working with ups",
    "already contacted",
    "we've contacted",
    "estamos tratando disso com",
    "já estamos tratando",
    "hemos pedido a",
    "wir haben den paketdienst gebeten",
)

# "It will miss, or has missed, the promised day." (or the estimate is after it)
LATE = {
    "en": ("won't reach you by", "didn't reach you by", "running late", "is late", "are late", "after the"),
    "pt-BR": ("não vai chegar", "não chegou", "vai atrasar", "atrasou", "está atrasado", "depois de"),
    "es": ("no llegará para", "no llegó para", "va con retraso", "llega con retraso", "después del"),
    "de": (
        "kommt nicht wie versprochen",
        "ist nicht wie versprochen",
        "kommt es nicht wie versprochen",
        "ist es nicht wie versprochen",
        "verspätet sich",
        "nach dem versprochenen",
        "also nach dem",
    ),
    "ja": ("お届けできない見込み", "お届けできませんでした", "お届けが遅れます", "お届けが遅れています", "より後"),
}
# "Good news / moving again": only true while the parcel really moves.
MOVING_AGAIN = {
    "en": ("good news", "moving again", "turned up"),
    "pt-BR": ("boa notícia", "voltou a andar", "foi encontrado"),
    "es": ("buenas noticias", "vuelve a moverse", "ha aparecido"),
    "de": ("gute nachricht", "wieder unterwegs", "wieder aufgetaucht"),
    "ja": ("よいお知らせ", "再び動き出しました", "見つかり"),
}
# The thank-you for waiting out a delay: only when it arrived after the promised day.
PATIENCE_WHILE_DELAYED = {
    "en": ("while it was delayed",),
    "pt-BR": ("durante o atraso",),
    "es": ("durante el retraso",),
    "de": ("während der verspätung",),
    "ja": ("遅延の間",),
}
ON_TIME_AFTER_ALL = {
    "en": ("on time after all",),
    "pt-BR": ("no prazo",),
    "es": ("a tiempo al final",),
    "de": ("doch pünktlich",),
    "ja": ("お約束どおり",),
}
# "A person is on it": only with a care task.
TEAM_ON_IT = {
    "en": ("our team is on it",),
    "pt-BR": ("nossa equipe já está cuidando", "nossa equipe cuida"),
    "es": ("nuestro equipo ya se está ocupando", "nuestro equipo se ocupa"),
    "de": ("unser team kümmert sich",),
    "ja": ("担当チームが対応",),
}
# "We'll write again by …".
NEXT_UPDATE = {
    "en": ("we'll write again by", "next update by", "update by"),
    "pt-BR": ("vamos escrever de novo", "novo aviso:"),
    "es": ("te volveremos a escribir a más tardar", "te escribimos de nuevo", "nuevo aviso:"),
    "de": ("wir melden uns spätestens", "nächstes update"),
    "ja": ("改めてご連絡します", "次回連絡"),
}
LOST = {
    "en": ("lost",),
    "pt-BR": ("perdeu", "perdido", "extraviado"),
    "es": ("perdido",),
    "de": ("verloren",),
    "ja": ("紛失",),
}
# Relative days that must be right at the moment the message is read.
TODAY = {"en": "today", "pt-BR": "hoje", "es": "hoy", "de": "heute", "ja": "本日"}
TOMORROW = {"en": "tomorrow", "pt-BR": "amanhã", "es": "mañana", "de": "morgen", "ja": "明日"}


def says(text: str, phrases: Iterable[str] | str) -> list[str]:
    """Which of `phrases` the text says (case-insensitive; whole words where the language has spaces)."""
    lowered = text.lower()
    found = []
    for phrase in [phrases] if isinstance(phrases, str) else phrases:
        needle = phrase.lower()
        if needle.isascii() and needle[:1].isalnum():
            if re.search(rf"(?<![\w']){re.escape(needle)}(?![\w])", lowered):
                found.append(phrase)
        elif needle in lowered:
            found.append(phrase)
    return found
