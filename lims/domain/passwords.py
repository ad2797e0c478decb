"""What a new password must be, in one place: an admin's new account or new password and a
person's own change all ask here (``services.admin.accounts``).

Length does most of the work (a long password is slow to guess at the scrypt cost set in
``config.py``); the other rules refuse the passwords tried first: the account's own username
and the most common passwords (``common_passwords.txt``, with digits or punctuation around
them as in "Password2024!"). Each refusal is a sentence to show beside the field.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 200
# A username this short (two letters, "qa") is a syllable of many good passwords: only a
# longer one is refused inside a password.
MIN_USERNAME_IN_PASSWORD = 3
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
_AROUND = re.compile(r"^[\d\W_]+|[\d\W_]+$")  # digits and punctuation at either end
_PUNCTUATION_AROUND = re.compile(r"^[\W_]+|[\W_]+$")


@cache
def common_passwords() -> frozenset[str]:
    """The vendored list, lower-case (read once per process)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def is_common(password: str) -> bool:
    """One of the most common passwords, in any case, alone or with digits and punctuation
    around it ("qwerty123456", "Password2024!", "1234567890!!")."""
    lowered = password.lower()
    seen_as = {lowered, _PUNCTUATION_AROUND.sub("", lowered), _AROUND.sub("", lowered)}
    return bool(seen_as & common_passwords())


def password_problem(password: object, username: str) -> str | None:
    """Why this cannot be the new password of the account ``username``, as a sentence for
    the field; None when it may be used."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if "\x00" in password:
        return "a password cannot contain a NUL character"
    name = username.strip().lower()
    lowered = password.lower()
    if lowered == name or (len(name) >= MIN_USERNAME_IN_PASSWORD and name in lowered):
        return "a password may not contain the username"
    if is_common(password):
        return "one of the most common passwords (tried first by anyone guessing): choose another"
    return None
