"""The detection rules and the situation kinds each raises: the one list that templates, seeds, the
documentation and the console derive the kinds from.

A rule module names its kinds from here (`engine.detection.orders`, `.shipments`, `.outages.rule`),
so a new kind is one line in a rule's entry plus its templates; tests check every kind has seed
templates for each of its stages, channels and shipped locales, and is documented.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.vocabulary import SituationKind, Stage

# Every situation a rule raises goes through these stages (DESIGN §4).
SITUATION_STAGES: tuple[Stage, ...] = (Stage.INITIAL, Stage.UPDATE, Stage.RESOLVED)


@dataclass(frozen=True)
class Rule:
    name: str
    module: str  # where the rule is written
    kinds: tuple[SituationKind, ...]
    summary: str


LATE_ORDERS = Rule(
    "late orders",
    "engine.detection.orders",
    (SituationKind.ORDER_LATE_TO_SHIP, SituationKind.SHIPMENT_DELAYED, SituationKind.SHIPMENT_STALLED),
    "an order will miss its promise: not handed to the carrier in time, a later estimate, a stalled parcel",
)
CARRIER_TROUBLE = Rule(
    "carrier trouble",
    "engine.detection.shipments",
    (SituationKind.SHIPMENT_EXCEPTION,),
    "the carrier reports an exception, a return or a loss",
)
OUTAGES = Rule(
    "outages",
    "engine.detection.outages",
    (SituationKind.SERVICE_DISRUPTION,),
    "a component customers follow stays down past the debounce",
)
RULES: tuple[Rule, ...] = (LATE_ORDERS, CARRIER_TROUBLE, OUTAGES)

RAISED_KINDS: tuple[SituationKind, ...] = tuple(kind for rule in RULES for kind in rule.kinds)
# The templates a deployment needs: each raised kind's stages, and the digest that merges them.
TEMPLATE_STAGES: dict[SituationKind, tuple[Stage, ...]] = {
    **{kind: SITUATION_STAGES for kind in RAISED_KINDS},
    SituationKind.DIGEST: (Stage.MERGED,),
}
