"""The text an audit entry's HMAC is taken over: its fields as canonical JSON (keys sorted, compact, UTF-8),
written the same way by the single and the bulk append and by the verifier."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

from engine.clock import format_instant
from engine.vocabulary import WORDS

# json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), built once: a fan-out serialises
# hundreds of thousands of entries.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
canonical_json = _CANONICAL.encode
_string = encode_basestring  # what the encoder above writes for a str

# A fan-out's entries share a handful of instants (its `now`, a morning for deferred texts): format each once.
instant = lru_cache(maxsize=1024)(format_instant)


def entry_text(*, seq: int, at: datetime, actor: str, action: str, subject: str, details: str, prev_hash: str) -> bytes:
    """The canonical JSON of {seq, at, actor, action, subject, details, prev}, around `details` serialised
    already (by `canonical_json`), as the bytes that are signed."""
    return (
        f'{{"action":{_string(action)},"actor":{_string(actor)},"at":{_string(instant(at))},'
        f'"details":{details},"prev":{_string(prev_hash)},"seq":{int(seq)},"subject":{_string(subject)}}}'
    ).encode()


# Values JSON holds as they are (the domain's words are strings: `Channel.SMS` is stored as "sms").
_PLAIN = frozenset({str, int, bool, type(None), *WORDS})


def jsonable(value: Any) -> Any:
    """`value` as JSON holds it: times as RFC 3339, words as their strings, anything else as its str."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict and all(type(k) is str and type(v) in _PLAIN for k, v in value.items()):
        return value  # already what JSON holds: no copy
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
