"""QC specifications in the browser (admins): the specs in force per product type, a spec's
version history, publishing the next version, and bad input that changes nothing."""

from __future__ import annotations

import re

import pytest

from lims.services.actions import qc
from tests.backends import backend  # noqa: F401  (SQLite alone: the spec editor's pages; spec versions are tested on both in service/test_qc_results)
from tests.web.conftest import text_of

VIABILITY = "/admin/specs/SVF/viability"


def history_rows(response) -> list[str]:
    html = response.get_data(as_text=True)
    rows = re.findall(r'<tr data-version="\d+".*?</tr>', html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def test_the_specs_page_shows_each_product_types_tests_in_force(login, users):
    text = text_of(login("admin").get("/admin/specs"))

    for product_type in ("SVF", "BM-MNC", "PRP", "MSC(AT)", "MSC(M)"):
        assert f"{product_type} ·" in text
    assert "Viability ≥ 70 % v1 required no" in text
    assert "Sterility culture no growth v1 required allowed, flagged" in text
    assert "Flow cytometry HLA-DR ≤ 2 % of cells v1 required no" in text


@pytest.mark.req("F-7")
def test_publishing_makes_version_two_and_the_history_lists_both(login, users):
    client = login("admin")

    response = client.post(
        VIABILITY,
        data={"operator": ">=", "limit": "75", "required": "y", "reason": "validation VR-12"},
    )

    assert response.status_code == 302 and response.location.endswith(VIABILITY)
    assert qc.spec_in_force("SVF", "viability").text == "≥ 75 %"
    page = client.get(VIABILITY)
    rows = history_rows(page)
    assert len(rows) == 2
    assert rows[0] == "v1 ≥ 70 % required no built in (default) —"
    assert rows[1].startswith("v2 in force ≥ 75 % required no Test Admin · ")
    assert rows[1].endswith("validation VR-12")
    assert "Published version 2 of Viability for SVF: ≥ 75 %" in text_of(page)
    assert "Viability ≥ 75 % v2" in text_of(client.get("/admin/specs"))


def test_a_word_test_publishes_its_accepted_words(login, users):
    response = login("admin").post(
        "/admin/specs/PRP/sterility",
        data={"accept": ["no growth"], "reason": "no pending release for PRP any more"},
    )

    assert response.status_code == 302
    spec = qc.spec_in_force("PRP", "sterility")
    assert (spec.version, spec.accept, spec.required, spec.pending_at_release) == (
        2,
        ("no growth",),
        False,
        False,
    )


@pytest.mark.parametrize(
    ("path", "data", "field", "message"),
    [
        (VIABILITY, {"operator": ">=", "limit": "75", "reason": ""}, "reason", "at least 3"),
        (VIABILITY, {"operator": ">=", "limit": "seventy", "reason": "why"}, "limit", "a number"),
        (
            "/admin/specs/SVF/gram_stain",
            {"accept": ["clean"], "reason": "why"},
            "accept",
            "passes on one or more of",
        ),
    ],
    ids=["no reason", "limit not a number", "unknown word"],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_changes(
    login, users, path, data, field, message
):
    _, product_type, test = path.rsplit("/", 2)

    response = login("admin").post(path, data=data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error-1">[^<]*{message}', html), html[-3000:]
    assert "Nothing was published" in html
    assert [s.version for s, _ in qc.spec_history(product_type, test)] == [1]


@pytest.mark.parametrize("role", ["technician", "clinician", "qa"])
def test_only_an_admin_sees_or_changes_specs(login, users, role):
    client = login(role)

    assert client.get("/admin/specs").status_code == 403
    assert client.get(VIABILITY).status_code == 403
    response = client.post(VIABILITY, data={"operator": ">=", "limit": "1", "reason": "sneaky"})
    assert response.status_code == 403
    assert qc.spec_in_force("SVF", "viability").version == 1


@pytest.mark.parametrize("path", ["/admin/specs/ADIPOSE/viability", "/admin/specs/SVF/colour"])
def test_no_spec_page_for_a_source_or_an_unknown_test(login, users, path):
    assert login("admin").get(path).status_code == 404


def test_the_form_starts_from_the_spec_in_force(login, users):
    client = login("admin")
    specs_page = client.get("/admin/specs").get_data(as_text=True)
    link = re.search(r'href="(/admin/specs/MSC\(AT\)/cd73)"', specs_page)
    assert link

    msc = client.get(link.group(1)).get_data(as_text=True)
    count = client.get("/admin/specs/SVF/viable_cell_count").get_data(as_text=True)

    assert re.search(r'<option selected value="&gt;=">', msc)
    assert 'value="95"' in msc and "Publish version 2" in msc
    assert 'value="1000000"' in count  # typed as a number is typed, not 1e+06
