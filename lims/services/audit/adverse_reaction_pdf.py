"""The report of one adverse reaction that QA sends on (decision 113): A4 portrait, the vendored
DejaVu Sans embedded.

It names the establishment, the product (DIN with its check character, product code,
division, type, chain-of-identity identifier, when it was given), the patient by identifiers
only — the hospital's MRN and the course's chain-of-identity identifier, with the age at
onset; never the name, birth date or wristband (the report leaves the LIMS) —, the reaction
as reported, every investigation note with who wrote it and when, and QA's signed decision
with the signature's manifestation and record hash. An open reaction prints "OPEN — not
decided" across every page: an interim report. Each page's footer names the reaction, when
the report was generated and "Page n of m".
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from flask import current_app
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ...domain.signatures import manifestation
from ...labels.fonts import BOLD, FONT
from ...models import AdverseReaction
from ...timefmt import local_time
from .adverse_reactions import label, notes_of, signature_matches

PAGE = A4
MARGIN = 16 * mm
WIDTH = PAGE[0] - 2 * MARGIN - 12
TITLE_TEXT = "Adverse reaction report"
INTERIM = "OPEN — not decided"

TEXT = ParagraphStyle("text", fontName=FONT, fontSize=9, leading=11.5)
HEAD = ParagraphStyle("head", parent=TEXT, fontName=BOLD, fontSize=8)
TITLE = ParagraphStyle("title", parent=TEXT, fontName=BOLD, fontSize=17, leading=21)
SUB = ParagraphStyle("sub", parent=TEXT, fontSize=10, leading=13)
SECTION = ParagraphStyle(
    "section", parent=TEXT, fontName=BOLD, fontSize=11, leading=14, spaceBefore=6, spaceAfter=2
)
ALERT = ParagraphStyle("alert", parent=TEXT, fontName=BOLD, textColor=colors.HexColor("#b00020"))
FACTS = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d5dde3")),
    ]
)


def _p(text: object, style: ParagraphStyle = TEXT) -> Paragraph:
    return Paragraph(escape("—" if text in (None, "") else str(text)).replace("\n", "<br/>"), style)


def _facts(rows: Iterable[tuple[str, object]]) -> Table:
    left = 42 * mm
    table = Table([[_p(k, HEAD), _p(v)] for k, v in rows], colWidths=[left, WIDTH - left])
    table.setStyle(FACTS)
    return table


def _when(value: datetime | None) -> str:
    return local_time(value) if value is not None else "—"


def _age_at(birth, moment: datetime) -> str:
    if birth is None:
        return "—"
    day = moment.date()
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return f"{years} years"


class _Footer(Canvas):
    """The footer and, on an open reaction, the interim watermark, once pages are counted."""

    footer = ""
    watermark = ""

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
            if self.watermark:
                self.saveState()
                self.setFillColor(colors.Color(0.69, 0, 0.13, alpha=0.12))
                self.setFont(BOLD, 48)
                self.translate(PAGE[0] / 2, PAGE[1] / 2)
                self.rotate(50)
                self.drawCentredString(0, -16, self.watermark)
                self.restoreState()
            self.setFont(FONT, 7)
            self.setFillColor(colors.HexColor("#44525c"))
            self.drawString(MARGIN, 9 * mm, self.footer)
            self.drawRightString(PAGE[0] - MARGIN, 9 * mm, f"Page {number} of {total}")
            super().showPage()
        super().save()


def _product(reaction: AdverseReaction) -> list:
    unit = reaction.unit
    return [
        _p("Product", SECTION),
        _facts(
            [
                ("DIN", f"{unit.eye_readable}"),
                ("Product code", unit.product_code),
                ("Division", unit.division),
                ("Product", unit.unit_type),
                ("Chain of identity", unit.chain_of_identity),
                ("Volume", f"{unit.volume_ml:g} mL"),
                ("Collected", _when(unit.collected_at)),
                ("Released", _when(unit.released_at)),
                ("Given", _when(unit.administered_at)),
            ]
        ),
    ]


def _patient(reaction: AdverseReaction) -> list:
    patient = reaction.patient
    return [
        _p("Patient (identifiers only)", SECTION),
        _facts(
            [
                ("MRN", patient.mrn),
                ("Chain of identity", reaction.unit.chain_of_identity),
                ("Age at onset", _age_at(patient.birth_date, reaction.onset_at)),
            ]
        ),
    ]


def _reaction(reaction: AdverseReaction) -> list:
    return [
        _p("Reaction as reported", SECTION),
        _facts(
            [
                ("Onset", _when(reaction.onset_at)),
                ("Severity", label(reaction.severity)),
                ("Relation to the product", f"{label(reaction.relation)} (the reporter's)"),
                ("Description", reaction.description),
                ("Reported by", f"{reaction.reported_by.full_name}, clinician"),
                ("Reported", _when(reaction.reported_at)),
            ]
        ),
    ]


def _investigation(reaction: AdverseReaction) -> list:
    notes = notes_of(reaction)
    if not notes:
        return [_p("Investigation", SECTION), _p("No investigation note recorded.")]
    return [
        _p("Investigation", SECTION),
        _facts((f"{_when(n.at)}\n{n.by} ({n.role})", n.text) for n in notes),
    ]


def _decision(reaction: AdverseReaction) -> list:
    story: list = [_p("QA's decision", SECTION)]
    sig = reaction.signature
    if reaction.status != "closed" or sig is None:
        return [*story, _p("Open: QA has not decided yet. This is an interim report.", ALERT)]
    rows = [
        ("Outcome", reaction.outcome),
        ("Closed", _when(reaction.closed_at)),
        ("Signature", manifestation(sig.printed_name, sig.meaning, _when(sig.signed_at))),
        ("Record hash (SHA-256)", sig.record_hash),
    ]
    story.append(_facts(rows))
    if not signature_matches(reaction):
        story.append(_p("The stored decision no longer matches what was signed.", ALERT))
    return story


def report_pdf(reaction: AdverseReaction, *, generated_at: datetime | None = None) -> bytes:
    """The whole report of one reaction, as QA sends it on."""
    config = current_app.config
    generated = generated_at or datetime.now(UTC)
    story: list = [
        _p(f"{TITLE_TEXT} #{reaction.id}", TITLE),
        _p("21 CFR 1271.350 — adverse reaction involving an HCT/P", SUB),
        _p(f"{config.get('FACILITY_NAME', '')} · {config.get('FACILITY_ADDRESS', '')}", SUB),
        Spacer(1, 2 * mm),
        _p(f"Status: {reaction.status}", HEAD),
    ]
    for part in (_product, _patient, _reaction, _investigation, _decision):
        story += part(reaction)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=18 * mm,
        title=f"{TITLE_TEXT} #{reaction.id}",
        author=str(config.get("FACILITY_NAME", "")),
    )
    footer = (
        f"{TITLE_TEXT} #{reaction.id} · {reaction.unit.eye_readable} "
        f"{reaction.unit.product_code} · generated {_when(generated)}"
    )
    watermark = INTERIM if reaction.status != "closed" else ""

    def canvas(*args: Any, **kwargs: Any) -> _Footer:
        made = _Footer(*args, **kwargs)
        made.footer, made.watermark = footer, watermark
        return made

    document.build(story, canvasmaker=canvas)
    return buffer.getvalue()
