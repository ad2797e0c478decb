"""The chain-of-custody report as a PDF an inspector can read: A4 landscape, the unit's
identity on top, one table per unit of the lineage (the source first), signatures spelled
out, each entry's full hash, the chain check at the end, and on every page the unit, the
moment it was generated and "page n of m".

Text is the vendored DejaVu Sans (registered by ``lims.labels.fonts``), embedded, so
patients' and staff's names in any European script print as typed.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

from ...labels.fonts import BOLD, FONT
from ...timefmt import local_time
from .custody_report import TIME, CustodyReport, ReportEntry, header_lines, material_lines

PAGE = landscape(A4)
MARGIN = 12 * mm
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=7, leading=8.6)
SMALL = ParagraphStyle("small", parent=TEXT, fontSize=6, leading=7.2)
HEAD = ParagraphStyle("head", parent=TEXT, fontName=BOLD, fontSize=7)
TITLE = ParagraphStyle("title", parent=TEXT, fontName=BOLD, fontSize=15, leading=19)
SUBTITLE = ParagraphStyle("subtitle", parent=TEXT, fontName=BOLD, fontSize=10, leading=13)
FACT = ParagraphStyle("fact", parent=TEXT, fontSize=8.5, leading=11)
# entry, time, action and data, status, custodian, location, by, entry hash (mm)
WIDTHS = (12, 27, 80, 27, 30, 36, 30, 31)
HEADINGS = (
    "Entry",
    "Time",
    "Action, recorded data, signatures",
    "Status",
    "Custodian",
    "Location",
    "By",
    "Entry hash (SHA-256 HMAC)",
)


def _p(text: str, style: ParagraphStyle = TEXT) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _what(entry: ReportEntry) -> Paragraph:
    parts = [f"<font name='{BOLD}'>{escape(entry.action)}</font>"]
    if entry.alert:
        parts[0] = f"<font color='#b00020'>{parts[0]} — MISMATCH</font>"
    parts += [f"{escape(key)}: {escape(value)}" for key, value in entry.data]
    if entry.reason:
        parts.append(f"<font name='{BOLD}'>Reason:</font> {escape(entry.reason)}")
    parts += [f"<font name='{BOLD}'>✍ {escape(s)}</font>" for s in entry.signatures]
    return Paragraph("<br/>".join(parts), TEXT)


def _fit(text: str, column: int, style: ParagraphStyle = TEXT) -> str | Paragraph:
    """Plain text when every line fits the column as it is; a Paragraph (which wraps) if not."""
    room = WIDTHS[column] * mm - 5  # the cell's padding, 2.5 pt each side
    if all(stringWidth(line, FONT, style.fontSize) <= room for line in text.split("\n")):
        return text
    return _p(text, style)


def _moment(entry: ReportEntry) -> str:
    """The local time, its zone below it, and the UTC time broken after its ``T``: four lines
    of plain text that fit the column, where a Paragraph could wrap only the first and let
    the UTC time run over the next column (and cost a fifth of a long report's rendering)."""
    local, _, zone = entry.local_time.rpartition(" ")
    date, _, clock = entry.utc_time.partition("T")
    return f"{local}\n{zone}\n{date}T\n{clock}"


def _hash(value: str) -> str:
    return "\n".join(value[i : i + 16] for i in range(0, len(value), 16))


def _row(entry: ReportEntry) -> list:
    # Cells of a fixed shape (the number, the hash in four lines) and short text are plain
    # text in the column's font, drawn as they are; a Paragraph is parsed and wrapped, which
    # is what made a long history slow. The text cells that may wrap stay Paragraphs.
    return [
        f"#{entry.seq}",
        _fit(_moment(entry), 1, SMALL),
        _what(entry),
        _fit(entry.status_change or "—", 3),
        _fit(entry.custody_change, 4),
        _fit(entry.location_change, 5),
        _fit(f"{entry.actor_name}\n{entry.actor_role}", 6),
        _hash(entry.entry_hash),
    ]


STYLE = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#8a9aa6")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3ebf0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f8fa")]),
    ]
)
# The plain-text cells of the entries' table: as TEXT, but the times and the hash as SMALL.
ENTRY_STYLE = TableStyle(
    [
        *STYLE.getCommands(),
        ("FONTNAME", (0, 1), (-1, -1), FONT),
        ("FONTSIZE", (0, 1), (-1, -1), TEXT.fontSize),
        ("LEADING", (0, 1), (-1, -1), TEXT.leading),
        ("FONTSIZE", (1, 1), (1, -1), SMALL.fontSize),
        ("LEADING", (1, 1), (1, -1), SMALL.leading),
        ("FONTSIZE", (7, 1), (7, -1), SMALL.fontSize),
        ("LEADING", (7, 1), (7, -1), SMALL.leading),
    ]
)


# used at, unit, step, item or lot, at the time (mm)
MATERIAL_WIDTHS = [w * mm for w in (27, 40, 40, 86, 80)]
MATERIAL_STYLE = STYLE


def _table(entries: list[ReportEntry]) -> LongTable:
    rows = [[_p(h, HEAD) for h in HEADINGS], *(_row(e) for e in entries)]
    table = LongTable(rows, colWidths=[w * mm for w in WIDTHS], repeatRows=1)
    table.setStyle(ENTRY_STYLE)
    return table


class _NumberedCanvas(Canvas):
    """Draws "page n of m" once every page is laid out (the total is known only then)."""

    footer = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(FONT, 7)
            self.setFillColor(colors.HexColor("#44525c"))
            self.drawString(MARGIN, 7 * mm, self.footer)
            self.drawRightString(PAGE[0] - MARGIN, 7 * mm, f"Page {number} of {total}")
            super().showPage()
        super().save()


def render_pdf(report: CustodyReport) -> bytes:
    unit = report.unit
    story: list = [
        _p("Chain-of-custody report", TITLE),
        Spacer(1, 2 * mm),
    ]
    facts = dict(header_lines(report))
    for name in ("unit", "product", "patient", "status", "expiry", "lineage"):
        story.append(
            Paragraph(
                f"<font name='{BOLD}'>{name.capitalize()}:</font> {escape(facts[name])}", FACT
            )
        )
    story.append(
        _p(
            f"Generated at {facts['generated at']} by {report.generated_by}. "
            f"Times in the site's zone, with UTC below; oldest first, the parent's history first.",
            SMALL,
        )
    )
    for index, section in enumerate(report.sections, start=1):
        role = "this unit" if section.unit.id == unit.id else "made into the next"
        heading = _p(f"{index}. {section.title} ({role}): {len(section.entries)} entries", SUBTITLE)
        story.append(Spacer(1, 4 * mm))
        if section.entries:
            story.append(KeepTogether([heading, Spacer(1, 1.5 * mm)]))
            story.append(_table(section.entries))
        else:
            story += [heading, _p("No ledger entries.")]
    if report.materials:
        story.append(Spacer(1, 4 * mm))
        story.append(_p("Equipment and reagent lots used, as they stood then", SUBTITLE))
        story.append(Spacer(1, 1.5 * mm))
        head = ["Used at", "Unit", "Step", "Item or lot", "At the time"]
        rows = [[_p(h, SMALL) for h in head]] + [
            [_p(text, SMALL) for text in line] for line in material_lines(report)
        ]
        table = LongTable(rows, repeatRows=1, colWidths=MATERIAL_WIDTHS)
        table.setStyle(MATERIAL_STYLE)
        story.append(table)
    check = report.check
    verdict_style = ParagraphStyle(
        "verdict",
        parent=FACT,
        fontName=BOLD,
        textColor=colors.HexColor("#1b6e3a" if check.intact else "#b00020"),
    )
    story += [
        Spacer(1, 5 * mm),
        _p(check.statement, verdict_style),
        _p(check.last_verification, FACT),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=14 * mm,
        title=f"Chain-of-custody report {unit.eye_readable} {unit.product_code} {unit.division}",
        author=report.generated_by,
        subject="Chain of custody (21 CFR 1271.290, Part 11 §11.10(e))",
    )

    class Numbered(_NumberedCanvas):
        footer = (
            f"Chain-of-custody report · {unit.eye_readable} {unit.product_code} "
            f"{unit.division} · generated at {local_time(report.generated_at, TIME)}"
        )

    doc.build(story, canvasmaker=Numbered)
    return out.getvalue()
