"""The charts page as QA reads it: three charts with their tables from the lab's own rows,
"no data" when there is none, and unreadable filters refused with a message, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from lims.extensions import db
from tests.service.stats_rows import a_product, a_result, a_spec_version, a_unit

from .conftest import text_of

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
D = timedelta(days=1)
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def figures(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<figure class="chart" data-chart="(\w+)".*?>(.*?)</figure>', html, re.S)
    )


def table_rows(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    ]


def test_qa_reads_three_charts_and_their_tables(client, login, users, frozen):
    for hours in (1, 2, 3, 4, 5):
        a_product("SVF", NOW - 10 * D, {"processing": hours})
    tech = users["technician"]
    a_result(a_unit("SVF", NOW - 10 * D), 82, NOW - 9 * D, tech)
    a_result(a_unit("SVF", NOW - 10 * D), 64, NOW - 2 * D, tech, limit=75, version=2)
    a_spec_version("SVF", "viability", 75, 2, NOW - 5 * D, users["admin"])
    db.session.commit()
    login("qa")

    response = client.get("/audit/charts?type=SVF&test=viability&weeks=4")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    drawn = figures(html)
    assert set(drawn) == {"turnaround", "qc", "weekly"}
    assert all("<svg" in svg and 'data-empty="no"' not in svg for svg in drawn.values())
    assert "Duration (hours)" in drawn["turnaround"] and "n=5" in drawn["turnaround"]
    assert "SVF specification limit (≥ 70 % then ≥ 75 %)" in drawn["qc"]
    assert "Out of specification" in drawn["qc"] and "Viability (%)" in drawn["qc"]
    assert "SVF" in drawn["weekly"] and "Units" in drawn["weekly"]
    processing = [r for r in table_rows(html, "turnaround-table") if r[1] == "Processing"]
    assert processing == [["SVF", "Processing", "5", "3.0", "1.4", "4.6"]]
    assert table_rows(html, "qc-table") == [["SVF", "2", "1", "64 %", "82 %"]]
    assert [r[:3] for r in table_rows(html, "limits-table")] == [
        ["SVF", "1", "≥ 70 %"],
        ["SVF", "2", "≥ 75 %"],
    ]
    assert "≥ 75 % (version 2)" in table_rows(html, "oos-table")[0][3]
    weekly = {r[0]: r[1:] for r in table_rows(html, "weekly-table")}
    assert weekly["2026-W47"] == ["7", "7"]  # five products and two tested units; total
    assert "CET" in text_of(response)


def test_the_page_refers_to_nothing_outside_the_site(client, login, users, frozen):
    a_product("PRP", NOW - 3 * D, {"transit": 2})
    a_result(a_unit("SVF", NOW - 3 * D), 90, NOW - D, users["technician"])
    db.session.commit()
    login("admin")

    html = client.get("/audit/charts").get_data(as_text=True)

    svgs = "".join(figures(html).values())
    assert set(re.findall(r"https?://[^\s\"'<>)]*", svgs)) <= NAMESPACES
    assert "<script" not in svgs


def test_an_empty_period_says_no_data_for_each_chart(client, login, frozen):
    login("qa")

    response = client.get("/audit/charts?weeks=2")

    assert response.status_code == 200
    drawn = figures(response.get_data(as_text=True))
    assert all("No data for this period" in svg for svg in drawn.values())
    assert text_of(response).count("No data for this period:") == 3


def test_a_test_the_type_does_not_have_is_said_plainly(client, login, frozen):
    login("qa")

    response = client.get("/audit/charts?type=PRP&test=viability")

    assert response.status_code == 200
    assert "Viability is not a QC test of PRP." in text_of(response)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("type=ADIPOSE", "choose a product type"),
        ("type=%3Cscript%3E", "choose a product type"),
        ("test=sterility", "choose a measured QC test"),
        ("weeks=0", "1 to 104"),
        ("weeks=99999999999999999999", "1 to 104"),
        ("weeks=-1", "1 to 104"),
        ("weeks=twelve", "1 to 104"),
        ("weeks=%00", "1 to 104"),
    ],
)
def test_unreadable_filters_are_refused_with_a_message(client, login, query, message):
    login("qa")

    response = client.get(f"/audit/charts?{query}")

    assert response.status_code == 422
    assert message in text_of(response)
    assert "<svg" not in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_technicians_are_not_shown_the_charts(client, login):
    login("technician")

    assert client.get("/audit/charts").status_code == 403
