"""The unit's history as CSV: every ledger entry of the collection, as the page reads it,
with signatures' manifestations (printed name, local time with zone, meaning)."""

from __future__ import annotations

import csv
import io

import pytest

from lims.services.actions import units
from tests.service.lab import registration, walk


@pytest.mark.req("P11-8")
def test_the_export_lists_every_entry_with_signature_manifestations(client, login, users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    response = login("qa").get(f"/units/{product.id}/history.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0]["action"] == "Register collection"
    release = next(r for r in rows if r["action"] == "Release")
    assert release["signatures"].startswith("Signed by Test Qa, ")
    assert release["signatures"].endswith(": approved for release")
    assert " UTC" in release["recorded at"] or "CET" in release["recorded at"]
    assert len(release["entry hash"]) == 64
    assert "test-pass" not in response.get_data(as_text=True)


def test_the_export_needs_a_sign_in(client, users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "quarantine", users
    )
    response = client.get(f"/units/{product.id}/history.csv")
    assert response.status_code == 302 and "/login" in response.location
