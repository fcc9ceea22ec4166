"""The empathy checklist reads the words a customer would read and quotes what it warns about."""

from __future__ import annotations

from engine.compose.checklist import Message, check_message, reading_ease
from engine.vocabulary import Channel

CONTEXT = {
    "customer": {"first_name": "Ana"},
    "order": {"items": "desk lamp", "id": "A10042"},
    "incident": None,
    "next_update_at": "tomorrow",
    "first_sms": True,
}


def warned(message: Message) -> dict[str, str | None]:
    return {f.check: f.quote for f in check_message(message, CONTEXT) if f.status == "warn"}


def test_a_good_email_passes_everything() -> None:
    good = Message(
        Channel.EMAIL,
        "initial",
        "en",
        "Your desk lamp is running late — new estimate Tuesday",
        "Hi Ana,\n\nI'm sorry: your desk lamp won't reach you by Friday as we promised. "
        "The new estimate is Tuesday.\n\nYou don't need to do anything. We'll email you again by Monday.\n"
        "https://acme.example/t/A10042\n",
    )
    assert warned(good) == {}


def test_a_cold_email_is_told_why_with_its_own_words() -> None:
    cold = Message(
        Channel.EMAIL,
        "initial",
        "en",
        "Important information regarding your account",
        "Dear valued customer, please be advised that due to circumstances beyond our control there is an issue!",
    )
    found = warned(cold)
    assert found["news-first"] == "Important information regarding your account"
    assert "owns-it" in found and "specific" in found and "next-step" in found and "hear-again" in found
    assert found["exclamations"] and "!" in found["exclamations"]
    quotes = [f.quote for f in check_message(cold, CONTEXT) if f.check == "trust-words"]
    assert {"valued customer", "please be advised", "beyond our control"} <= set(quotes)


def test_sms_segments_and_the_stop_line() -> None:
    text = "Acme: sorry, your desk lamp é late. Tue or Wed. https://a.example/t/1"
    found = warned(Message(Channel.SMS, "initial", "en", None, text))
    assert found == {"hear-again": None, "stop-line": None}  # no next update said, no opt-out line
    ucs2 = next(
        f
        for f in check_message(
            Message(Channel.SMS, "initial", "pt-BR", None, "Acme: atrasou, não se preocupe. Responda STOP para sair."),
            CONTEXT,
        )
        if f.check == "sms-segments"
    )
    assert ucs2.status == "pass" and "UCS-2" in ucs2.title and ucs2.quote == "ã"


def test_reading_ease_in_both_languages() -> None:
    assert reading_ease("Your lamp is late. We are sorry. It comes Tuesday.", "en") > 80
    hard = (
        "Consequently, notwithstanding unforeseeable infrastructural complications, "
        "the consignment's anticipated arrival necessitates recalibration."
    )
    assert reading_ease(hard, "en") < 30
    assert reading_ease("Seu pedido atrasou. Sinto muito. Chega na terça.", "pt") > reading_ease(
        "Lamentavelmente, devido a complicações logísticas imprevisíveis, a entrega necessita de reprogramação.", "pt"
    )
