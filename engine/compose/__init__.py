"""Compose: turn staff-written templates and a situation's context into an email or an SMS."""

from engine.compose.render import RenderedMessage, TemplateSet, render_message
from engine.compose.seeds import (
    TemplateKey,
    load_seed_templates,
    locale_fallbacks,
    select_template_set,
)
from engine.compose.segments import SmsEncoding, check_sms_budget, sms_segments

__all__ = [
    "RenderedMessage",
    "SmsEncoding",
    "TemplateKey",
    "TemplateSet",
    "check_sms_budget",
    "load_seed_templates",
    "locale_fallbacks",
    "render_message",
    "select_template_set",
    "sms_segments",
]
