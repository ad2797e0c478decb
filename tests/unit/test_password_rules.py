"""The rules for a new password, in the domain: long enough, not the username, not one of
the most common passwords (a vendored list); each refusal a sentence for the field."""

from __future__ import annotations

import pytest

from lims.domain import passwords
from tests.conftest import PASSWORD


@pytest.mark.req("P11-11")
@pytest.mark.parametrize(
    ("password", "username", "says"),
    [
        ("short-pass1", "nina", "at least 12 characters"),
        (None, "nina", "at least 12 characters"),
        ("x" * 201, "nina", "at most 200 characters"),
        ("twelve-chars\x00", "nina", "NUL"),
        ("nina.novak-2024", "nina.novak", "may not contain the username"),
        ("My-NINA.NOVAK-pass", "nina.novak", "may not contain the username"),
        ("password1234", "nina", "most common passwords"),
        ("Password2024!", "nina", "most common passwords"),
        ("QWERTYUIOP12", "nina", "most common passwords"),
        ("1234567890!!", "nina", "most common passwords"),
        ("iloveyou-1234", "nina", "most common passwords"),
    ],
)
def test_a_weak_password_is_refused_with_a_reason(password, username, says):
    problem = passwords.password_problem(password, username)
    assert problem is not None and says in problem


@pytest.mark.parametrize(
    ("password", "username"),
    [
        (PASSWORD, "tech"),  # the test users'
        ("demo-pass-123", "admin"),  # the demo data's (README's demo logins)
        ("brand-new-pass-42", "nina"),
        ("aquamarine-harbour-lantern", "qa"),  # a two-letter username is no syllable ban
        ("correct horse battery staple", "doctor"),
    ],
)
def test_a_good_password_passes(password, username):
    assert passwords.password_problem(password, username) is None


def test_the_vendored_list_holds_a_few_hundred_common_passwords():
    common = passwords.common_passwords()
    assert 500 <= len(common) <= 1000
    assert {"123456", "password", "qwerty", "iloveyou", "sunshine"} <= common
    assert all(entry == entry.lower().strip() and entry for entry in common)
