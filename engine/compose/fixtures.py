"""Named sample contexts to preview a template with: the situations its words must survive.

Each fixture starts from `seeds.sample_context` (the documented context, filled realistically) for the
template's situation and stage, and changes what makes it a case: no first name, a long list of items,
a repeat problem, a lost parcel. A fixture that does not fit a situation (a lost parcel for an outage)
is not offered for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.compose.context import describe_items
from engine.compose.facts import derive
from engine.compose.seeds import sample_context, sample_digest_context
from engine.vocabulary import SituationKind

ORDER_KINDS = frozenset(
    {
        SituationKind.ORDER_LATE_TO_SHIP,
        SituationKind.SHIPMENT_DELAYED,
        SituationKind.SHIPMENT_EXCEPTION,
        SituationKind.SHIPMENT_STALLED,
    }
)
SHIPMENT_KINDS = ORDER_KINDS - {SituationKind.ORDER_LATE_TO_SHIP}
_LONG_ITEMS = (
    "Ergonomic mesh office chair with adjustable lumbar support",
    "Solid oak standing desk converter",
    "Noise-cancelling over-ear headphones (midnight blue)",
    "USB-C docking station with dual HDMI",
    "Set of 4 hand-glazed stoneware mugs",
    "Trail running shoes, size 42",
)


@dataclass(frozen=True)
class Fixture:
    name: str
    label: str
    kinds: frozenset[SituationKind] | None  # None: every situation, the digest too
    tweak: Callable[[dict[str, Any], str], None]
    locale: str | None = None  # the sample data's language, when the fixture is about one

    def fits(self, situation: str) -> bool:
        return self.kinds is None or situation in self.kinds

    def speaks(self, locale: str) -> bool:
        """Whether a template in `locale` would ever be rendered for this sample's customer: a pt-BR
        customer gets the pt-BR words, so their accented name never tests the English template's budget."""
        return self.locale is None or self.locale.split("-")[0] == locale.split("-")[0]


def _first(context: dict[str, Any], locale: str) -> None:
    context.update(repeat=False, first_sms=True)


def _second(context: dict[str, Any], locale: str) -> None:
    context.update(repeat=True, first_sms=False)


def _no_name(context: dict[str, Any], locale: str) -> None:
    context["customer"].update(name="", first_name="")


def _long_items(context: dict[str, Any], locale: str) -> None:
    order = context.get("order")
    if order is None:
        return
    order["lines"] = [{"name": name, "quantity": 1} for name in _LONG_ITEMS]
    order["items"] = describe_items(list(_LONG_ITEMS), locale)
    order["items_title"] = order["items"][:1].upper() + order["items"][1:]


def _lost(context: dict[str, Any], locale: str) -> None:
    shipment = context.get("shipment")
    if shipment is not None:
        shipment.update(
            status="lost", exception="other", estimated_delivery_at=None, previous_estimated_delivery_at=None
        )


def _outage(context: dict[str, Any], locale: str) -> None:
    incident = context.get("incident")
    if incident is not None and incident.get("resolved_at") is None:
        incident.update(status="major_outage", title="Checkout and payments are down")


FIXTURES: tuple[Fixture, ...] = (
    Fixture("first-delay", "A first delay (first text to the number)", None, _first),
    Fixture("second-problem", "A second problem this month", None, _second),
    Fixture("no-first-name", "No first name", None, _no_name),
    Fixture("long-items", "A long item list", ORDER_KINDS, _long_items),
    Fixture("pt-BR", "A Brazilian customer (pt-BR)", None, _first, locale="pt-BR"),
    Fixture("lost-parcel", "A lost parcel", SHIPMENT_KINDS, _lost),
    Fixture("outage", "An outage (checkout down)", frozenset({SituationKind.SERVICE_DISRUPTION}), _outage),
)
BY_NAME = {fixture.name: fixture for fixture in FIXTURES}
DEFAULT = "first-delay"


class UnknownFixture(LookupError):
    pass


def fixtures_for(situation: str) -> list[Fixture]:
    return [fixture for fixture in FIXTURES if fixture.fits(situation)]


def default_fixture(situation: str, locale: str) -> str:
    return "pt-BR" if locale.startswith("pt") else DEFAULT


def fixture_context(name: str, *, situation: str, stage: str, locale: str) -> dict[str, Any]:
    """The named fixture's context for a template of this situation, stage and locale."""
    fixture = BY_NAME.get(name)
    if fixture is None or not fixture.fits(situation):
        offered = ", ".join(f.name for f in fixtures_for(situation))
        raise UnknownFixture(f"no sample {name!r} for {situation}; these fit: {offered}")
    data_locale = fixture.locale or locale
    if situation == SituationKind.DIGEST:
        context = sample_digest_context(locale=data_locale)
    else:
        context = sample_context(situation, stage, locale=data_locale)
    fixture.tweak(context, data_locale)
    return derive(context)  # the facts follow the tweak: a lost parcel is not "moving" any more
