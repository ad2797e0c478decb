"""The validation report as a PDF: A4 portrait, the same sections as the HTML (summary,
traceability matrix, operational, installation and performance qualification), the digest
on the first page, at the end and in every page's footer with "page n of m".

Text is the vendored DejaVu Sans (``lims.labels.fonts``), embedded.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from ..labels.fonts import BOLD, FONT

PAGE = A4
MARGIN = 14 * mm
WIDTH = PAGE[0] - 2 * MARGIN
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=7.5, leading=9.3)
SMALL = ParagraphStyle("small", parent=TEXT, fontSize=6.3, leading=7.6)
HEAD = ParagraphStyle("head", parent=TEXT, fontName=BOLD, fontSize=7)
TITLE = ParagraphStyle("title", parent=TEXT, fontName=BOLD, fontSize=16, leading=20)
H2 = ParagraphStyle("h2", parent=TEXT, fontName=BOLD, fontSize=11, leading=14, spaceBefore=8)
H3 = ParagraphStyle("h3", parent=TEXT, fontName=BOLD, fontSize=8.5, leading=11, spaceBefore=4)
FACT = ParagraphStyle("fact", parent=TEXT, fontSize=8.5, leading=11)
GREEN, RED, AMBER = (
    colors.HexColor("#1b6e3a"),
    colors.HexColor("#b00020"),
    colors.HexColor("#8a5a00"),
)
COLOURS = {
    "passed": GREEN,
    "met": GREEN,
    "failed": RED,
    "error": RED,
    "not met": RED,
    "skipped": AMBER,
    "xfailed": AMBER,
    "xpassed": AMBER,
    "not run": AMBER,
}
STYLE = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#b8c4cc")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
)
TESTS_PER_ROW = 12  # a matrix row's tests; more go on to rows of their own
MESSAGE_MAX = 1500  # characters of a failure's text in the PDF (the HTML and JSON keep all)
MESSAGE_LINES = 24  # and its lines


def _p(text: Any, style: ParagraphStyle = TEXT) -> Paragraph:
    return Paragraph(escape(str(text if text is not None else "")).replace("\n", "<br/>"), style)


def _outcome(value: str | None, style: ParagraphStyle = TEXT) -> Paragraph:
    colour = COLOURS.get(value or "")
    text = escape(value or "")
    if colour is not None:
        text = f"<font name='{BOLD}' color='{colour.hexval()}'>{text}</font>"
    return Paragraph(text, style)


def _table(head: list[str], rows: list[list[Any]], widths_mm: list[float]) -> LongTable:
    total = sum(widths_mm)
    widths = [WIDTH * w / total for w in widths_mm]
    body = [[_p(h, HEAD) for h in head], *rows]
    table = LongTable(body, colWidths=widths, repeatRows=1)
    table.setStyle(STYLE)
    return table


def _facts(pairs: list[tuple[str, Any]]) -> LongTable:
    rows = [[_p(k, HEAD), v if isinstance(v, Paragraph) else _p(v)] for k, v in pairs]
    table = LongTable(rows, colWidths=[WIDTH * 0.25, WIDTH * 0.75])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#b8c4cc")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _short(text: str) -> str:
    lines = text.splitlines()
    if len(lines) > MESSAGE_LINES:
        text = "\n".join([*lines[:MESSAGE_LINES], "…"])
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


class _NumberedCanvas(Canvas):
    """Draws "page n of m" and the digest once every page is laid out."""

    footer = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(FONT, 6.5)
            self.setFillColor(colors.HexColor("#44525c"))
            first, _, second = self.footer.partition("\n")
            self.drawString(MARGIN, 8.5 * mm, first)
            self.drawString(MARGIN, 5.5 * mm, second)
            self.drawRightString(PAGE[0] - MARGIN, 8.5 * mm, f"Page {number} of {total}")
            super().showPage()
        super().save()


def _summary(data: Mapping[str, Any], sha256: str, local) -> list:
    s = data["summary"]
    tests, reqs = s["tests"], s["requirements"]
    verdict = (
        "Every marked test that ran passed, every claimed requirement is met, the performance "
        "qualification passed and the ledger verifies."
        if s["clean"]
        else "NOT CLEAN: "
        + "; ".join(
            p
            for p in (
                f"{tests['failed']} test(s) failed, {tests['error']} broke"
                if tests["failed"] or tests["error"]
                else "",
                f"{reqs['claimed_not_met']} claimed requirement(s) not met"
                if reqs["claimed_not_met"]
                else "",
                f"performance qualification {s['pq']}" if s["pq"] != "passed" else "",
                "the ledger does not verify" if not s["ledger_intact"] else "",
            )
            if p
        )
    )
    style = ParagraphStyle(
        "verdict", parent=FACT, fontName=BOLD, textColor=GREEN if s["clean"] else RED
    )
    version = data["version"]
    return [
        _p(data["title"], TITLE),
        _p(
            f"{data['facility']['name']} ({data['facility']['code']}) — software version "
            f"{version['describe']}"
            + (f" (commit {version['commit']})" if version["commit"] else ""),
            FACT,
        ),
        _p(
            f"Generated {local(data['generated_at'])} ({data['generated_at']} UTC) by "
            f"{data['generated_by']}.",
            FACT,
        ),
        Spacer(1, 2 * mm),
        _p(f"SHA-256 of this report's data (report.json): {sha256}", FACT),
        Spacer(1, 3 * mm),
        _p(verdict, style),
        Spacer(1, 2 * mm),
        _facts(
            [
                (
                    "Marked tests",
                    f"{tests['total']}: {tests['passed']} passed, {tests['failed']} failed, "
                    f"{tests['error']} errors, {tests['skipped']} skipped, {tests['xfailed']} "
                    f"expected failures, {tests['xpassed']} unexpected passes",
                ),
                (
                    "Requirements",
                    f"{reqs['met']} of {reqs['total']} met; {reqs['claimed']} claimed, of which "
                    f"{reqs['claimed_not_met']} not met; {reqs['planned']} planned",
                ),
                ("Performance qualification", _outcome(s["pq"])),
                ("Ledger", "intact" if s["ledger_intact"] else "DOES NOT VERIFY"),
            ]
        ),
    ]


def _test_line(test: Mapping[str, Any]) -> Paragraph:
    colour = COLOURS.get(test["outcome"])
    outcome = escape(test["outcome"])
    if colour is not None:
        outcome = f"<font name='{BOLD}' color='{colour.hexval()}'>{outcome}</font>"
    return Paragraph(f"{escape(test['nodeid'])} — {outcome}", SMALL)


def _matrix(data: Mapping[str, Any]) -> list:
    """One row per requirement, and its tests by the dozen in rows below it (a row never
    outgrows a page); the tests' messages are in the operational qualification's table."""
    rows = []
    for r in data["matrix"]:
        text = r["text"] + (f"\n{r['how']}" if r["how"] else "")
        if r["planned"]:
            text += f"\nPlanned: {r['planned']}"
        tests = [_test_line(t) for t in r["tests"]] or [_p("none", SMALL)]
        chunks = [tests[i : i + TESTS_PER_ROW] for i in range(0, len(tests), TESTS_PER_ROW)]
        rows.append(
            [
                _p(r["id"], HEAD),
                _p(r["source"], SMALL),
                _p(text, SMALL),
                [_outcome(r["status"], SMALL), _p(r["why"], SMALL)],
                chunks[0],
            ]
        )
        for more in chunks[1:]:
            rows.append(
                [
                    _p(r["id"], SMALL),
                    _p("", SMALL),
                    _p("(its tests, continued)", SMALL),
                    _p("", SMALL),
                    more,
                ]
            )
    story: list = [
        _p("1. Traceability matrix", H2),
        _table(
            ["Req.", "Source", "Text and how it is met", "Result", "Tests"],
            rows,
            [10, 14, 50, 16, 90],
        ),
    ]
    if data.get("unknown_ids"):
        story.append(_p("Tests naming unknown requirement ids", H3))
        for u in data["unknown_ids"]:
            story.append(_p(f"{u['nodeid']}: {', '.join(u['ids'])}", SMALL))
    return story


def _oq(data: Mapping[str, Any], local) -> list:
    run = data["oq"]["run"]
    rows = [
        [
            _p(t["nodeid"], SMALL),
            _p(", ".join(t["requirements"]), SMALL),
            _outcome(t["outcome"], SMALL),
            _p(f"{t['duration']:.2f}", SMALL),
            _p(_short(t["message"]), SMALL),
        ]
        for t in data["oq"]["tests"]
    ]
    if not rows:
        rows = [[_p("No marked test ran.", HEAD), "", "", "", ""]]
    return [
        _p("2. Operational qualification", H2),
        _facts(
            [
                ("Run", f"{local(run.get('started_at'))} to {local(run.get('finished_at'))}"),
                ("Command", "pytest " + " ".join(run.get("args") or [])),
                ("pytest, Python", f"{run.get('pytest')}, {run.get('python')}"),
                ("pytest's exit status", run.get("exit_status")),
            ]
        ),
        Spacer(1, 2 * mm),
        _table(["Test", "Req.", "Outcome", "s", "Message"], rows, [62, 14, 15, 8, 66]),
    ]


def _iq(data: Mapping[str, Any], local) -> list:
    iq = data["iq"]
    py, database, redis, ledger = iq["python"], iq["database"], iq["redis"], iq["ledger"]
    receipt = ledger.get("head_receipt")
    receipt_text = (
        f"Entry #{receipt['seq']}, issued {local(receipt['issued_at'])}: {receipt['check']}\n"
        f"entry hash {receipt['entry_hash']}\nsignature {receipt['signature']}"
        if receipt
        else "none issued"
    )
    migration = (
        f"{', '.join(database['migration_applied']) or 'none'} (newest: "
        f"{', '.join(database['migration_head'])}"
        f"{'' if database['migration_current'] else ' — NOT CURRENT'})"
    )
    ledger_text = (
        f"Intact: {ledger['checked']} entries verified, head #{ledger['last_seq']}\n{ledger['last_hash']}"
        if ledger["intact"]
        else f"DOES NOT VERIFY: {ledger['first_break']}"
    )
    config_rows = [
        [
            _p(name, SMALL),
            _p(
                json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value,
                SMALL,
            ),
        ]
        for name, value in iq["configuration"].items()
    ]
    packages = iq["packages"]
    half = -(-len(packages) // 2)
    package_rows = []
    for index in range(half):
        left = packages[index]
        right = packages[index + half] if index + half < len(packages) else None
        package_rows.append(
            [
                _p(left["name"], SMALL),
                _p(left["version"], SMALL),
                _p(right["name"] if right else "", SMALL),
                _p(right["version"] if right else "", SMALL),
            ]
        )
    return [
        _p("3. Installation qualification", H2),
        _facts(
            [
                (
                    "Python",
                    f"{py['implementation']} {py['version']} ({py['build']}) on {py['platform']}\n"
                    f"{py['executable']}",
                ),
                (
                    "Database",
                    f"{database['dialect']} ({database['driver']}): {database['server_version']}\n"
                    f"{database['url']}",
                ),
                ("Migration applied", migration),
                (
                    "Redis",
                    redis["server_version"] + (f"\n{redis['url']}" if redis.get("url") else ""),
                ),
                ("Ledger", ledger_text),
                ("Head receipt", receipt_text),
            ]
        ),
        _p("Configuration (secrets masked)", H3),
        _table(["Setting", "Value"], config_rows, [35, 65]),
        _p(f"Installed distributions ({len(packages)})", H3),
        _table(
            ["Distribution", "Version", "Distribution", "Version"], package_rows, [32, 18, 32, 18]
        ),
    ]


def _pq(data: Mapping[str, Any], local) -> list:
    pq = data["pq"]
    facts: list[tuple[str, Any]] = [
        ("Result", _outcome(pq["status"] + (f": {pq['reason']}" if pq.get("reason") else "")))
    ]
    if pq.get("started_at"):
        facts.append(
            ("Run", f"{local(pq['started_at'])} to {local(pq['finished_at'])} on {pq['database']}")
        )
    failure = pq.get("failure")
    if failure:
        step = failure.get("step")
        where = (
            f"{step['step']}: {step['method']} {step['path']} → {step['status']}\n" if step else ""
        )
        facts.append(("Failed at", where + failure["message"]))
    if pq.get("unit"):
        unit = pq["unit"]
        facts.append(
            (
                "Unit",
                f"{unit['identifier']} {unit['product_code']} (product id {unit['product_id']}, "
                f"source id {unit['source_id']})",
            )
        )
    if pq.get("verification"):
        check = pq["verification"]
        facts.append(
            (
                "Ledger verification",
                f"{'intact' if check.get('intact') else 'DOES NOT VERIFY'}: {check.get('checked')} entries",
            )
        )
    story: list = [
        _p("4. Performance qualification", H2),
        _p(
            "One unit from collection to administration through the HTTP JSON API of a served "
            "instance, on a scratch database.",
            FACT,
        ),
        _facts(facts),
    ]
    if pq.get("setup"):
        story.append(_p("Set-up", H3))
        story += [_p(f"• {line}", SMALL) for line in pq["setup"]]
    if pq.get("steps"):
        rows = [
            [
                _p(index, SMALL),
                _p(s["step"], SMALL),
                _p(f"{s['method']} {s['path']}", SMALL),
                _p(s["status"] or "no answer", SMALL),
                _p(s["ms"], SMALL),
            ]
            for index, s in enumerate(pq["steps"], start=1)
        ]
        story += [
            _p("Steps", H3),
            _table(["#", "Step", "Request", "Status", "ms"], rows, [6, 40, 60, 12, 12]),
        ]
    if pq.get("ledger"):
        rows = [
            [
                _p(f"#{e['seq']}", SMALL),
                _p(e["action"], SMALL),
                _p(e.get("to_status") or "", SMALL),
                _p(e["actor"], SMALL),
                _p(local(e["recorded_at"]), SMALL),
                _p(e["entry_hash"], SMALL),
            ]
            for e in pq["ledger"]
        ]
        story += [
            _p("The unit's ledger", H3),
            _table(
                ["Entry", "Action", "Status after", "By", "Time", "Entry hash"],
                rows,
                [9, 22, 16, 18, 22, 45],
            ),
        ]
    return story


def render_pdf(data: Mapping[str, Any], sha256: str, local) -> bytes:
    """``local``: an ISO UTC time as the site's local time with its zone named."""
    story: list = [
        *_summary(data, sha256, local),
        *_matrix(data),
        *_oq(data, local),
        *_iq(data, local),
        *_pq(data, local),
        Spacer(1, 5 * mm),
        _p(f"End of report. SHA-256 of its data: {sha256}", FACT),
        _p(
            "QA approves a stored report with an electronic signature in the LIMS "
            "(Audit → Validation).",
            SMALL,
        ),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        title=f"Validation report {data['version']['describe']} {data['generated_at']}",
        author=str(data["generated_by"]),
        subject=f"Validation report, SHA-256 {sha256}",
    )

    class Numbered(_NumberedCanvas):
        footer = (
            f"Validation report {data['version']['describe']} — {data['generated_at']}\n"
            f"SHA-256 of its data {sha256}"
        )

    doc.build(story, canvasmaker=Numbered)
    return out.getvalue()
