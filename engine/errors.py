"""One exception hierarchy for the engine."""


class ForewarnError(Exception):
    """Base of every error the engine raises on purpose."""


class InvalidEvent(ForewarnError):
    """An inbound event is unreadable or has the wrong shape; the message says what is wrong."""


class SignatureError(ForewarnError):
    """A webhook's signature or token is missing or does not match."""


class TemplateError(ForewarnError):
    """A template is missing, fails to render, or breaks a channel's limits."""
