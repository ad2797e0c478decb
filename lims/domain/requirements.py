"""The regulatory requirements this system claims, read from ``requirements.toml`` beside this
module (the single source; docs/requirements.md).

Each requirement has a stable id (``P11-8``, ``T-1``, ``F-2``, ``I-1``, ``A11-4``, ``LIMS-1`` …),
its source, the requirement in our words and how the system meets it. A requirement the
system does not meet yet says what is missing (``planned``); the validation report shows
it as not met. A test claims a requirement with ``@pytest.mark.req("<id>", …)``;
``tests/unit/test_requirements_traced.py`` holds every claimed requirement to at least one
such test.

``python -m lims.domain.requirements`` prints the table of docs/requirements.md;
``--write docs/requirements.md`` puts it in place between the document's markers.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SOURCE = Path(__file__).with_name("requirements.toml")
ID = re.compile(r"^(P11|T|F|I|A11|LIMS)-[1-9][0-9]*$")
PLANNED = re.compile(r"^not built yet: \S")  # "not built yet: what will meet it"
KEYS = frozenset({"id", "source", "text", "how", "planned"})
REQUIRED = ("id", "source", "text", "how")

BEGIN = "<!-- BEGIN requirements table"  # the rest of the marker line says how to regenerate
END = "<!-- END requirements table -->"


@dataclass(frozen=True)
class Requirement:
    id: str
    source: str
    text: str
    how: str
    planned: str | None = None  # "not built yet: …" while the system does not meet it


def parse(text: str) -> tuple[Requirement, ...]:
    """The ``[[requirement]]`` tables of a TOML document, in order; ``ValueError`` names the
    first table that is not a well-formed requirement."""
    document = tomllib.loads(text)
    extra = set(document) - {"requirement"}
    if extra:
        raise ValueError(f"unknown top-level key(s): {', '.join(sorted(extra))}")
    tables = document.get("requirement", [])
    if not isinstance(tables, list):
        raise ValueError("requirements are [[requirement]] tables")
    found: list[Requirement] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        where = f"requirement #{number} ({table.get('id', 'no id')})"
        unknown = set(table) - KEYS
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in REQUIRED:
            value = table.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{where}: {key} must be non-empty text")
        planned = table.get("planned")
        if planned is not None and (not isinstance(planned, str) or not PLANNED.match(planned)):
            raise ValueError(f'{where}: planned must read "not built yet: …", not {planned!r}')
        rid = table["id"]
        if not ID.match(rid):
            raise ValueError(f"{where}: id must look like P11-1, T-1, F-1, I-1, A11-1 or LIMS-1")
        if rid in seen:
            raise ValueError(f"{where}: id {rid} appears twice")
        seen.add(rid)
        found.append(
            Requirement(
                id=rid,
                source=" ".join(table["source"].split()),
                text=" ".join(table["text"].split()),
                how=" ".join(table["how"].split()),
                planned=planned,
            )
        )
    return tuple(found)


@cache
def _load() -> tuple[Requirement, ...]:
    return parse(SOURCE.read_text(encoding="utf-8"))


REQUIREMENTS: tuple[Requirement, ...] = _load()


def by_id() -> dict[str, Requirement]:
    """Every requirement by its id, in file order."""
    return {r.id: r for r in REQUIREMENTS}


def claimed() -> tuple[Requirement, ...]:
    """The requirements the system meets today (those without ``planned``)."""
    return tuple(r for r in REQUIREMENTS if r.planned is None)


# ---------------------------------------------------------------- the table of docs/requirements.md


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown_table(requirements: tuple[Requirement, ...] | None = None) -> str:
    """The Markdown table of docs/requirements.md: id, source, requirement, how, status."""
    rows = [
        "| id | source | requirement | how the system meets it | status |",
        "|---|---|---|---|---|",
    ]
    for r in REQUIREMENTS if requirements is None else requirements:
        status = "claimed" if r.planned is None else f"**not met** — planned, {r.planned}"
        rows.append(
            f"| {r.id} | {_cell(r.source)} | {_cell(r.text)} | {_cell(r.how)} | {_cell(status)} |"
        )
    return "\n".join(rows) + "\n"


def with_table(document: str, table: str | None = None) -> str:
    """``document`` with the text between its BEGIN and END markers replaced by the table.

    ``ValueError`` when the markers are missing, repeated or out of order.
    """
    lines = document.splitlines(keepends=True)
    begins = [n for n, line in enumerate(lines) if line.startswith(BEGIN)]
    ends = [n for n, line in enumerate(lines) if line.rstrip("\n") == END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ValueError(f"the document needs one line starting {BEGIN!r} and one {END!r} after it")
    body = markdown_table() if table is None else table
    return "".join([*lines[: begins[0] + 1], body, *lines[ends[0] :]])


def main(argv: list[str]) -> int:
    if not argv:
        sys.stdout.write(markdown_table())
        return 0
    if len(argv) == 2 and argv[0] == "--write":
        path = Path(argv[1])
        old = path.read_text(encoding="utf-8")
        new = with_table(old)
        if new != old:
            path.write_text(new, encoding="utf-8")
        print(f"{path}: {'table updated' if new != old else 'table already current'}")
        return 0
    print("usage: python -m lims.domain.requirements [--write docs/requirements.md]")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
