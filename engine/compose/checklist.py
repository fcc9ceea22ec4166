"""The empathy-and-clarity checklist (shared/EMPATHY.md) over a rendered message.

Guidance, never a gate: every check gives a finding, `pass` or `warn`, and a warning quotes the words
that caused it and says why it matters. The editor shows the findings beside the preview and again
before publishing, and they are stored with each version. The checks read words, so they can be fooled;
they are there to make a writer look twice, not to grade them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import textstat

from engine.compose.segments import GSM7_BASIC, GSM7_EXTENSION, sms_segments
from engine.vocabulary import WARNING_STAGES, Channel, Stage


@dataclass(frozen=True)
class Finding:
    check: str  # a stable id: "news-first", "trust-words", …
    status: str  # "pass" | "warn"
    title: str
    why: str
    quote: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Message:
    channel: Channel
    stage: str
    locale: str
    subject: str | None
    text: str  # the email's text part, or the SMS


_NEWS = {
    "en": r"late|delay|won't|will not|may not|may take|didn't|problem|issue|trouble|down|error|outage|stuck|"
    r"hasn't moved|lost|delivered|arrived|fixed|back|resolved|working again|new estimate|held|customs|address|damaged|"
    r"returned|update|slow|running",
    "pt": r"atras|problema|fora do ar|instabilidade|erro|entregue|chegou|resolvid|normaliz|parad|extraviad|"
    r"nova previs|não vai|pode não|pode demorar|alfândega|endereço|danificad|devolvid|lent|atualiza",
}
_OWN = {"en": r"sorry|apolog|we let you down|our fault", "pt": r"desculp|sentimos muito|sinto muito|lamentamos|perdão"}
_THANKS = {"en": r"thank", "pt": r"obrigad|agradec"}
_NO_ACTION = {
    "en": r"(don't|do not) need to do anything|no action|nothing (for you )?to do",
    "pt": r"não precisa fazer nada|nenhuma ação|nada a fazer",
}
_AGAIN = {
    "en": r"we'll (email|write|text|update|let you know|be in touch)|again by|hear from us|update you",
    "pt": r"(vamos|iremos) (te |lhe )?(avisar|escrever|atualizar|mandar)|escreveremos|novamente|"
    r"avisaremos|atualizaremos",
}
# Words that break trust (EMPATHY.md), each with why it does.
TRUST_BREAKERS: dict[str, str] = {
    "unfortunately you": "puts the problem on them; say what happened and own it",
    "as per our policy": "hides behind rules; explain in plain words or leave it out",
    "per our policy": "hides behind rules; explain in plain words or leave it out",
    "please be advised": "cold and formal; just say it",
    "apologize for any inconvenience": "generic and passive; name the effect on them and apologise once",
    "apologise for any inconvenience": "generic and passive; name the effect on them and apologise once",
    "valued customer": "reads as a form letter; use their name",
    "beyond our control": "sounds like an excuse; give the cause in one honest clause",
    "kindly": "stiff and a little condescending",
    "you should have": "blames them",
    "edd": "jargon (estimated delivery date): say the date",
    "exception scan": "carrier jargon: say what happened to the parcel",
    "p1 incident": "internal jargon: say what is not working",
    "guaranteed": "false certainty: we cannot promise what a carrier or a system will do",
    "infelizmente você": "coloca o problema neles; diga o que aconteceu e assuma",
    "conforme nossa política": "esconde-se atrás de regras",
    "prezado cliente": "soa como carta padrão; use o nome",
    "cliente valioso": "soa como carta padrão; use o nome",
    "qualquer inconveniente": "genérico e passivo; diga o efeito para a pessoa e peça desculpas uma vez",
    "motivos alheios": "soa como desculpa; explique a causa numa frase honesta",
    "garantid": "certeza falsa: não prometa o que não controlamos",
}
_DATE = re.compile(
    r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b|\b(today|tomorrow|yesterday)\b|\b\d{1,2}[/:]\d{2}\b|"
    r"\b(segunda|terça|quarta|quinta|sexta|sábado|domingo|hoje|amanhã|ontem)\b|\b\d{1,2} de [a-zç]+\b",
    re.IGNORECASE,
)
_EASE_FLOOR = {"en": 60.0, "pt": 50.0}
_TEXTSTAT = threading.Lock()  # textstat keeps its language in a global


def _language(locale: str) -> str:
    return "pt" if locale.lower().startswith("pt") else "en"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n{2,}", text) if s.strip()]


def _quote(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.IGNORECASE)


def _lead(message: Message) -> str:
    """What a reader sees first: the subject, or the SMS's first sentence after the sender's name."""
    if message.channel == Channel.EMAIL and message.subject:
        return message.subject
    body = message.text.split(":", 1)[1] if ":" in message.text[:40] else message.text
    return (_sentences(body) or [""])[0]


def reading_ease(text: str, language: str) -> float:
    """Flesch reading ease: textstat's for English; for Portuguese the Brazilian adaptation (Martins et al.,
    1996) over textstat's syllable count, since textstat applies the English constants to Portuguese."""
    words = textstat.lexicon_count(text)
    sentences = max(1, len(_sentences(text)))
    if not words:
        return 100.0
    with _TEXTSTAT:
        if language == "pt":
            textstat.set_lang("pt_BR")
            syllables = int(textstat.syllable_count(text))
            textstat.set_lang("en_US")
            return float(round(248.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words), 1))
        textstat.set_lang("en_US")
        return float(textstat.flesch_reading_ease(text))


def check_message(message: Message, context: Mapping[str, Any]) -> list[Finding]:
    language = _language(message.locale)
    findings = [
        _news_first(message, language),
        _owns_it(message, language),
        _specific(message, context),
        _next_step(message, language),
        _hear_again(message, language, context),
        *_trust_words(message),
        _exclamations(message),
        _ease(message, language),
        _length(message),
    ]
    if message.channel == Channel.SMS:
        findings += [_segments(message), _stop_line(message, context)]
    return findings


def _news_first(message: Message, language: str) -> Finding:
    lead = _lead(message)
    where = "subject" if message.channel == Channel.EMAIL else "first sentence"
    if _search(_NEWS[language], lead):
        return Finding(
            "news-first", "pass", f"The news is in the {where}", "People read the first line, often only that."
        )
    return Finding(
        "news-first",
        "warn",
        f"The {where} does not carry the news",
        "Say what happened first: people read the first line, often only that.",
        _quote(lead),
    )


def _phrase_check(
    check: str, found: re.Match[str] | None, passed: tuple[str, str], missing: tuple[str, str]
) -> Finding:
    """A check that passes on a phrase (quoted back, so the editor sees what counted) and warns without one."""
    if found:
        return Finding(check, "pass", *passed, _quote(found.group(0)))
    return Finding(check, "warn", *missing)


def _owns_it(message: Message, language: str) -> Finding:
    full = f"{message.subject or ''}\n{message.text}"
    if message.stage in WARNING_STAGES or message.stage == Stage.MERGED:
        return _phrase_check(
            "owns-it",
            _search(_OWN[language], full),
            ("Apologises and owns it", "A plain apology, once, shows we own the promise."),
            ("No apology", 'When we (or a partner) let them down, apologise once, plainly, and own it with "we".'),
        )
    return _phrase_check(
        "owns-it",
        _search(_THANKS[language], full),
        ("Thanks them for their patience", "A follow-up closes the loop warmly."),
        ("No thanks for their patience", "A follow-up should thank them: they waited for us."),
    )


def _specific(message: Message, context: Mapping[str, Any]) -> Finding:
    full = f"{message.subject or ''}\n{message.text}"
    missing: list[str] = []
    first = (context.get("customer") or {}).get("first_name")
    if first and first not in full and message.channel == Channel.EMAIL:
        missing.append(f"their first name ({first})")
    order, incident = context.get("order"), context.get("incident")
    if order and order.get("items") not in full and str(order.get("id")) not in full:
        missing.append(f"what they ordered ({order.get('items')} / {order.get('id')})")
    if (
        incident
        and not any(str(service) in full for service in incident.get("services") or [])
        and incident.get("title") not in full
    ):
        missing.append("which service is affected")
    if message.stage != Stage.RESOLVED and not _DATE.search(full):
        missing.append("a date or time")
    if not missing:
        return Finding(
            "specific",
            "pass",
            "Specific: names the person, the thing and the dates",
            "Specific is what makes it personal.",
        )
    return Finding(
        "specific",
        "warn",
        "Could read the same for everyone",
        "Name " + ", ".join(missing) + ": specific is what makes it personal.",
    )


def _next_step(message: Message, language: str) -> Finding:
    link = re.search(r"(https?://|mailto:)\S+", message.text)
    if link:
        return Finding(
            "next-step",
            "pass",
            "Gives one next step (a link)",
            "One clear action, or none needed.",
            _quote(link.group(0), 80),
        )
    return _phrase_check(
        "next-step",
        _search(_NO_ACTION[language], message.text),
        ("Says there is nothing to do", "One clear action, or none needed."),
        ("No next step", "Say what we are doing and give one link (or say they need do nothing)."),
    )


def _hear_again(message: Message, language: str, context: Mapping[str, Any]) -> Finding:
    if message.stage not in WARNING_STAGES:
        return Finding("hear-again", "pass", "No next update needed", "A follow-up ends the thread.")
    found = _search(_AGAIN[language], f"{message.subject or ''}\n{message.text}")
    if found:
        return Finding(
            "hear-again", "pass", "Says when they will hear from us", "Then we keep it.", _quote(found.group(0))
        )
    if not context.get("next_update_at"):
        return Finding("hear-again", "pass", "No next update promised in this context", "Nothing to promise here.")
    return Finding(
        "hear-again",
        "warn",
        "Does not say when they will hear again",
        "Say when we will write again (next_update_at) — and keep it.",
    )


def _trust_words(message: Message) -> list[Finding]:
    full = f"{message.subject or ''}\n{message.text}"
    found: list[Finding] = []
    covered: list[tuple[int, int]] = []
    for phrase, why in TRUST_BREAKERS.items():
        match = re.search(rf"\b{re.escape(phrase)}", full, re.IGNORECASE)
        if match is None or any(start <= match.start() < end for start, end in covered):
            continue  # "per our policy" inside "as per our policy" is one finding
        covered.append(match.span())
        found.append(
            Finding("trust-words", "warn", f"Words that break trust: “{match.group(0)}”", why, _quote(match.group(0)))
        )
    return found or [Finding("trust-words", "pass", "No blame, policy or jargon words", "Those words break trust.")]


def _exclamations(message: Message) -> Finding:
    full = f"{message.subject or ''}\n{message.text}"
    count = full.count("!")
    bad_news = message.stage in WARNING_STAGES
    if count == 0 or (count == 1 and not bad_news):
        return Finding("exclamations", "pass", "Exclamation marks in check", "At most one, never in bad news.")
    sentence = next((s for s in _sentences(full) if "!" in s), "!")
    why = (
        "No exclamation marks in bad news: it reads as cheerful about their problem."
        if bad_news
        else "At most one exclamation mark."
    )
    return Finding("exclamations", "warn", f"{count} exclamation mark{'s' if count > 1 else ''}", why, _quote(sentence))


def _ease(message: Message, language: str) -> Finding:
    score = reading_ease(message.text, language)
    floor = _EASE_FLOOR[language]
    title = f"Reading ease {score:.0f} ({'Flesch' if language == 'en' else 'Flesch, pt-BR'}; {floor:.0f}+ reads easily)"
    if score >= floor:
        return Finding("reading-ease", "pass", title, "Plain words and short sentences read easily on a phone.")
    longest = max(_sentences(message.text) or [message.text], key=len)
    return Finding(
        "reading-ease",
        "warn",
        title,
        "Shorter sentences and plainer words: this is the longest sentence.",
        _quote(longest),
    )


def _length(message: Message) -> Finding:
    if message.channel == Channel.SMS:
        return Finding("length", "pass", f"{len(message.text)} characters", "Segments are checked below.")
    words = len(message.text.split())
    limit = 120 if message.stage == Stage.RESOLVED else 220
    if words <= limit:
        return Finding("length", "pass", f"{words} words", f"Short enough (up to about {limit} for this stage).")
    return Finding(
        "length", "warn", f"{words} words", f"Long for this stage (about {limit} at most): people skim bad news."
    )


def _segments(message: Message) -> Finding:
    counted = sms_segments(message.text)
    forcing = sorted({ch for ch in message.text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION})
    plural = "s" if counted.segments != 1 else ""
    title = f"{counted.segments} segment{plural}, {counted.encoding}, {counted.characters} characters"
    if counted.segments <= 2:
        quote = "".join(forcing) or None
        why = "Within the 2-segment budget." + (
            " These characters force UCS-2 (70 a segment): " + "".join(forcing) if forcing else ""
        )
        return Finding("sms-segments", "pass", title, why, quote)
    return Finding(
        "sms-segments",
        "warn",
        title,
        "Over the 2-segment budget: the renderer will try sms_compact, then refuse.",
        "".join(forcing) or None,
    )


def _stop_line(message: Message, context: Mapping[str, Any]) -> Finding:
    if not context.get("first_sms"):
        return Finding(
            "stop-line",
            "pass",
            "Not the first text: no STOP line needed",
            "The first text to a number says how to opt out.",
        )
    return _phrase_check(
        "stop-line",
        re.search(r"(\w+ )?\bSTOP\b[^.]*\.?", message.text),
        ("Says how to opt out", "The first text to a number must."),
        ("No STOP line on a first text", "The first text to a number must say how to opt out (Reply STOP)."),
    )
