"""Tables. Importing this package registers every table on `SQLModel.metadata` (Alembic reads it)."""

from engine.models.approvals import ApprovalStatus, FanoutApproval
from engine.models.audit import AuditEntry, AuditPersonal
from engine.models.care import CareTask, RemedyCode
from engine.models.carriers import CarrierStats
from engine.models.customers import Customer
from engine.models.events import InboundEvent
from engine.models.flags import EngineFlag
from engine.models.incidents import Component, Incident
from engine.models.notices import DeliveryAttempt, Notice
from engine.models.orders import Order, Shipment
from engine.models.quarantine import Quarantined
from engine.models.situations import Situation
from engine.models.staff import StaffSession, StaffToken, StaffUser
from engine.models.subscriptions import CustomerComponent
from engine.models.suppressions import ChannelSuppression
from engine.models.templates import TemplateVersion

__all__ = [
    "ApprovalStatus",
    "AuditEntry",
    "AuditPersonal",
    "CareTask",
    "CarrierStats",
    "ChannelSuppression",
    "Component",
    "Customer",
    "CustomerComponent",
    "DeliveryAttempt",
    "EngineFlag",
    "FanoutApproval",
    "InboundEvent",
    "Incident",
    "Notice",
    "Order",
    "Quarantined",
    "RemedyCode",
    "Shipment",
    "Situation",
    "StaffSession",
    "StaffToken",
    "StaffUser",
    "TemplateVersion",
]
