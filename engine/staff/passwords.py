"""Staff passwords: argon2id hashes, and the rules a new password must meet."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
_COMMON_LIST = Path(__file__).with_name("common_passwords.txt")
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the email is unknown, so a wrong email costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("forewarn-timing-equaliser")


class WeakPassword(ValueError):
    """The reason a password is refused, in words to show the person choosing it."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_strength(password: str, *, email: str = "", name: str = "") -> None:
    """Raise WeakPassword when `password` is too short, common, or the person's own email or name."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters (a few unrelated words are easy to remember)")
    lowered = password.lower()
    bare = re.sub(r"[^0-9a-z]", "", lowered)
    common = common_passwords()
    if lowered in common or bare in common:
        raise WeakPassword("this password is on a list of common passwords; choose another")
    if len(set(lowered)) <= 3:
        raise WeakPassword("this password repeats too few characters; choose another")
    own = {email.lower(), email.lower().split("@")[0], name.lower(), re.sub(r"\s+", "", name.lower())} - {""}
    if lowered in own or bare in own:
        raise WeakPassword("the password must not be your email address or name")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; an account without a password never matches (same time either way)."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
