"""The requirements list (lims/domain/requirements.toml) as read by lims.domain.requirements,
and the table of docs/requirements.md generated from it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lims.domain import requirements
from lims.domain.requirements import (
    END,
    ID,
    REQUIREMENTS,
    Requirement,
    by_id,
    claimed,
    markdown_table,
    parse,
    with_table,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "requirements.md"

# The ids of the list the validation package was given (issue 16): kept exactly, never renumbered.
GIVEN = (
    *(f"P11-{n}" for n in range(1, 12)),
    *(f"T-{n}" for n in range(1, 11)),
    *(f"F-{n}" for n in range(1, 7)),
    *(f"I-{n}" for n in range(1, 4)),
    *(f"A11-{n}" for n in range(1, 5)),
)


def test_every_given_id_is_kept():
    assert len(GIVEN) == 34
    assert set(GIVEN) <= set(by_id())


def test_ids_are_unique_and_well_formed():
    ids = [r.id for r in REQUIREMENTS]
    assert len(ids) == len(set(ids))
    assert all(ID.match(i) for i in ids), [i for i in ids if not ID.match(i)]


def test_every_requirement_says_where_it_comes_from_what_it_asks_and_how_it_is_met():
    for r in REQUIREMENTS:
        assert r.source.strip() and r.text.strip() and r.how.strip(), r.id
        assert r.text.endswith("."), r.id
        sentences = len(re.findall(r"[.!?](?:\s|$)", r.how))
        assert 1 <= sentences <= 3, f"{r.id}: how should be 1-3 sentences, not {sentences}"


def test_by_id_and_claimed_keep_the_file_order():
    assert list(by_id()) == [r.id for r in REQUIREMENTS]
    assert [r.id for r in REQUIREMENTS][:3] == ["P11-1", "P11-2", "P11-3"]
    assert claimed() == tuple(r for r in REQUIREMENTS if r.planned is None)


def test_every_listed_requirement_is_built_now():
    # The last two planned ones were built: I-3 (chain of identity, decision 104) and T-9
    # (adverse reactions, decision 113). A requirement added unbuilt is listed here.
    planned = {r.id: r.planned for r in REQUIREMENTS if r.planned is not None}
    assert planned == {}
    assert {"T-9", "I-3"} <= {r.id for r in claimed()}


def test_a_requirement_cannot_be_changed_once_read():
    with pytest.raises(dataclasses.FrozenInstanceError):
        REQUIREMENTS[0].how = "something else"  # type: ignore[misc]


GOOD = """
[[requirement]]
id = "T-1"
source = "21 CFR 1271.290"
text = "A   code \t per product."
how = "The DIN."

[[requirement]]
id = "LIMS-9"
source = "project"
text = "Something not built."
how = "Not yet."
planned = "not built yet: build it"
"""


def test_parse_reads_the_tables_in_order_with_spaces_folded():
    assert parse(GOOD) == (
        Requirement("T-1", "21 CFR 1271.290", "A code per product.", "The DIN.", None),
        Requirement(
            "LIMS-9", "project", "Something not built.", "Not yet.", "not built yet: build it"
        ),
    )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (('id = "T-1"', 'id = "T1"'), "id must look like"),
        (('id = "LIMS-9"', 'id = "T-1"'), "appears twice"),
        (('how = "The DIN."', 'how = "  "'), "how must be non-empty text"),
        (('source = "project"\n', ""), "source must be non-empty text"),
        (('how = "The DIN."', 'how = "The DIN."\nstatus = "met"'), "unknown key(s) status"),
        (
            ('"not built yet: build it"', '"issue 99: build it"'),
            'planned must read "not built yet: …"',
        ),
        (('[[requirement]]\nid = "T-1"', 'title = "x"\n[[requirement]]\nid = "T-1"'), "top-level"),
    ],
)
def test_a_malformed_list_is_refused_naming_the_problem(change, says):
    old, new = change
    assert old in GOOD
    with pytest.raises(ValueError, match=re.escape(says)):
        parse(GOOD.replace(old, new, 1))


# ---------------------------------------------------------------- docs/requirements.md


def test_the_table_has_a_row_per_requirement_with_its_status():
    lines = markdown_table().splitlines()
    assert lines[0] == "| id | source | requirement | how the system meets it | status |"
    rows = lines[2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == list(by_id())
    assert all(
        row.endswith(" | claimed |")
        for row, r in zip(rows, REQUIREMENTS, strict=True)
        if not r.planned
    )
    unbuilt = Requirement("LIMS-9", "project", "x.", "y.", "not built yet: build it")
    (row,) = markdown_table((unbuilt,)).splitlines()[2:]
    assert row.endswith("| **not met** — planned, not built yet: build it |")


def test_a_pipe_in_a_cell_does_not_split_the_row():
    one = Requirement("LIMS-1", "a | b", "x.", "y.", None)
    (row,) = markdown_table((one,)).splitlines()[2:]
    assert row == r"| LIMS-1 | a \| b | x. | y. | claimed |"


def test_the_document_holds_exactly_the_table_of_the_list():
    """Regenerate with: .venv/bin/python -m lims.domain.requirements --write docs/requirements.md"""
    document = DOCUMENT.read_text(encoding="utf-8")
    assert with_table(document) == document, (
        "docs/requirements.md is stale: run "
        "`.venv/bin/python -m lims.domain.requirements --write docs/requirements.md`"
    )
    assert markdown_table() in document


def test_with_table_replaces_only_what_lies_between_the_markers():
    begin = f"{requirements.BEGIN} (regenerate: …) -->"
    document = f"# Title\n\nIntro.\n\n{begin}\n| old |\n{END}\n\nAfter.\n"
    assert with_table(document, "| new |\n") == (
        f"# Title\n\nIntro.\n\n{begin}\n| new |\n{END}\n\nAfter.\n"
    )
    with pytest.raises(ValueError, match="needs one line"):
        with_table("no markers at all\n")


def test_the_module_prints_the_table():
    printed = subprocess.run(
        [sys.executable, "-m", "lims.domain.requirements"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == markdown_table()
