"""Single sign-on's claim -> role mapping (decision 105): the pairs in the order written,
groups as a list, one string or a nested claim; a map naming no role of a person refused."""

from __future__ import annotations

import pytest

from lims.domain import sso as rules


@pytest.mark.parametrize(
    ("text", "claims", "role"),
    [
        ("a=qa, b=admin", {"groups": ["b", "a"]}, "qa"),  # the first pair written wins
        ("a=qa", {"groups": "a"}, "qa"),
        ("a=qa", {"groups": ["c"]}, None),
        ("x=technician", {"realm_access": {"roles": ["x"]}}, "technician"),
    ],
)
def test_the_role_map(text, claims, role):
    claim = "realm_access.roles" if "realm_access" in claims else "groups"
    assert rules.mapped_role(rules.parse_role_map(text), claims, claim) == role


@pytest.mark.parametrize("text", ["a=wizard", "=qa", "qa", "a=system", "a=pending"])
def test_a_bad_role_map_is_refused(text):
    with pytest.raises(rules.RoleMapError):
        rules.parse_role_map(text)
