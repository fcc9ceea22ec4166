"""What an SMS costs: GSM-7 vs UCS-2, single vs multipart segments."""

import pytest

from engine.compose import SmsEncoding, check_sms_budget, sms_segments
from engine.errors import TemplateError


def test_160_gsm_characters_fit_one_segment_and_161_need_two() -> None:
    assert sms_segments("a" * 160) == SmsEncoding("GSM-7", 160, 1)
    assert sms_segments("a" * 161).segments == 2


def test_multipart_gsm_segments_hold_153_characters_each() -> None:
    assert sms_segments("a" * 306).segments == 2
    assert sms_segments("a" * 307).segments == 3


def test_extension_characters_cost_two_septets() -> None:
    euro = sms_segments("€")
    assert (euro.encoding, euro.characters) == ("GSM-7", 2)
    assert sms_segments("€" * 80).segments == 1  # 160 septets
    assert sms_segments("€" * 81).segments == 2  # 162 septets
    assert sms_segments("{[~]}^|\\").characters == 16


def test_an_escape_pair_is_never_split_across_segments() -> None:
    # 306 septets would be 2 segments by arithmetic, but the "€" cannot straddle the boundary.
    text = "a" * 152 + "€" + "a" * 152
    assert sms_segments(text).characters == 306
    assert sms_segments(text).segments == 3


def test_gsm_accents_stay_gsm_but_portuguese_ones_force_ucs2() -> None:
    assert sms_segments("café à Ç ñ ü").encoding == "GSM-7"
    for character in "ãõçáíóúâêô":
        assert sms_segments(f"Ana {character}").encoding == "UCS-2", character


def test_70_ucs2_characters_fit_one_segment_and_71_need_two() -> None:
    assert sms_segments("ã" * 70) == SmsEncoding("UCS-2", 70, 1)
    assert sms_segments("ã" * 71).segments == 2
    assert sms_segments("ã" * 134).segments == 2
    assert sms_segments("ã" * 135).segments == 3


def test_an_emoji_counts_two_utf16_units_and_is_never_split() -> None:
    assert sms_segments("😀") == SmsEncoding("UCS-2", 2, 1)
    assert sms_segments("😀" * 35).segments == 1  # 70 units
    # 66 units then an emoji: it moves whole into the second segment.
    assert sms_segments("ã" * 66 + "😀" + "ã" * 66).segments == 3


def test_an_empty_text_costs_nothing() -> None:
    assert sms_segments("").segments == 0


def test_budget_check_returns_the_encoding_when_it_fits() -> None:
    assert check_sms_budget("Acme: your desk lamp is running late.").segments == 1


def test_budget_check_names_the_segment_count_and_the_culprit_characters() -> None:
    with pytest.raises(TemplateError, match=r"3 segments \(UCS-2, 150 characters\); the limit is 2") as info:
        check_sms_budget("ã" * 150)
    assert "'ã'" in str(info.value)
    with pytest.raises(TemplateError, match="2 segments"):
        check_sms_budget("a" * 200, max_segments=1)
