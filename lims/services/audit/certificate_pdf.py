"""The certificate of release as a PDF (decision 85): A4 portrait, the facility on top, the
certificate's number (and the one it replaces) and its SHA-256 prominent, the DIN as a Code
128 barcode and eye-readable, then product and patient, collection and processing, equipment
and reagent lots, every QC result against its specification version, deviations and how
they were closed, release and signatures, expiry, storage and transport, the changes made
after first entry (EU GMP Annex 11 §8.2) and the autologous statements. On every page: the
copy (travelling or file), the certificate, and "page n of m".

Everything printed comes from the frozen content, except the file copy's patient name and
record number (``audit.certificate``). Text is the vendored DejaVu Sans, embedded.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ...domain import certificates as words
from ...labels.flowables import Code128Bars
from ...labels.fonts import BOLD, FONT
from ...timefmt import local_time
from .certificate import Certificate

PAGE = A4
MARGIN = 14 * mm
FRAME_PADDING = 6  # points: reportlab's frame pads each side
WIDTH = PAGE[0] - 2 * MARGIN - 2 * FRAME_PADDING
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=8, leading=10)
SMALL = ParagraphStyle("small", parent=TEXT, fontSize=7, leading=8.6)
HEAD = ParagraphStyle("head", parent=SMALL, fontName=BOLD)
TITLE = ParagraphStyle("title", parent=TEXT, fontName=BOLD, fontSize=17, leading=21)
FACILITY = ParagraphStyle("facility", parent=TEXT, fontSize=9, leading=11.5)
NUMBER = ParagraphStyle("number", parent=TEXT, fontName=BOLD, fontSize=12, leading=15)
SECTION = ParagraphStyle(
    "section", parent=TEXT, fontName=BOLD, fontSize=10, leading=13, spaceBefore=4
)
DIGEST = ParagraphStyle("digest", parent=TEXT, fontSize=7.5, leading=9.5)
COPY = ParagraphStyle(
    "copy", parent=TEXT, fontName=BOLD, fontSize=9, leading=12, textColor=colors.white
)
WARNING = ParagraphStyle(
    "warning",
    parent=TEXT,
    fontName=BOLD,
    fontSize=9,
    leading=12,
    textColor=colors.HexColor("#b00020"),
)
STATEMENT = ParagraphStyle("statement", parent=TEXT, fontName=BOLD, fontSize=9.5, leading=12.5)

GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#8a9aa6")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3ebf0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
)
FACTS = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 0.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0.6),
    ]
)


def _p(text: object, style: ParagraphStyle = TEXT) -> Paragraph:
    return Paragraph(escape("—" if text in (None, "") else str(text)).replace("\n", "<br/>"), style)


def _utc(value: str | None) -> str:
    """``2026-05-01T10:00:00.000000Z`` → ``2026-05-01 10:00 UTC``."""
    if not value:
        return "—"
    return value[:16].replace("T", " ") + " UTC"


def _both(value: str | None) -> str:
    """The site's local time with its zone, and UTC."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    local = local_time(moment)
    return f"{local} ({_utc(value)})" if not local.endswith(" UTC") else _utc(value)


def _facts(rows: Iterable[tuple[str, object]], label_width: float = 38 * mm) -> Table:
    data = [[_p(label, HEAD), _p(value)] for label, value in rows]
    table = Table(data, colWidths=[label_width, WIDTH - label_width])
    table.setStyle(FACTS)
    return table


def _grid(head: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[float]):
    data = [[_p(h, HEAD) for h in head]]
    data += [[_p(cell, SMALL) for cell in row] for row in rows]
    scale = WIDTH / sum(widths)
    table = LongTable(data, colWidths=[w * scale for w in widths], repeatRows=1)
    table.setStyle(GRID)
    return table


def _section(title: str) -> Paragraph:
    return _p(title, SECTION)


class _NumberedCanvas(Canvas):
    """Draws the footer, with "Page n of m", once every page is laid out."""

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
            self.setFont(FONT, 7)
            self.setFillColor(colors.HexColor("#44525c"))
            self.drawString(MARGIN, 8 * mm, self.footer)
            self.drawRightString(PAGE[0] - MARGIN, 8 * mm, f"Page {number} of {total}")
            super().showPage()
        super().save()


def _header(cert: Certificate) -> list:
    content = cert.content
    facility, head = content["facility"], content["certificate"]
    product = content["product"]
    replaces = head["replaces"]
    number = words.replaces_words(
        head["number"],
        replaces["number"] if replaces else None,
        _utc(replaces["issued_at"]) if replaces else None,
    )
    copy_banner = Table([[_p(words.COPY_NAMES[cert.copy].upper(), COPY)]], colWidths=[WIDTH])
    copy_banner.setStyle(
        TableStyle(
            [
                (
                    "BACKGROUND",
                    (0, 0),
                    (-1, -1),
                    colors.HexColor("#1f4e79" if cert.copy == words.TRAVELLING else "#6b3a00"),
                ),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    left = [
        _p(words.TITLE, TITLE),
        _p(facility["name"], ParagraphStyle("fname", parent=FACILITY, fontName=BOLD)),
        _p(facility["address"], FACILITY),
        _p(f"Facility identification number {facility['code']}", FACILITY),
    ]
    top = Table(
        [[left, Code128Bars(product["barcode"], product["din"])]],
        colWidths=[WIDTH - 62 * mm, 62 * mm],
    )
    top.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story: list = [copy_banner, Spacer(1, 3 * mm), top, Spacer(1, 2 * mm), _p(number, NUMBER)]
    story.append(
        _p(
            f"Issued {_both(head['issued_at'])} by {head['issued_by']['name']} "
            f"({head['issued_by']['role']}). Reason: {head['reason']}",
        )
    )
    story.append(_p(f"SHA-256 of this certificate's content: {cert.row.sha256}", DIGEST))
    if replaces:
        story.append(
            _p(f"SHA-256 of certificate {replaces['number']}: {replaces['sha256']}", DIGEST)
        )
    ledger = f"ledger entry #{cert.ledger_seq}" if cert.ledger_seq else "its ledger entry"
    if cert.intact:
        story.append(_p(f"Content verified against {ledger} when printed.", DIGEST))
    else:
        story.append(
            _p(
                f"WARNING: this content does not match the digest recorded in {ledger}; "
                "do not use this certificate, tell QA.",
                WARNING,
            )
        )
    return story


def _product(cert: Certificate) -> list:
    content = cert.content
    product, patient = content["product"], content["patient"]
    expiry, storage, status = content["expiry"], content["storage"], content["status"]
    quantity = f"{product['volume_ml']:g} mL"
    if product.get("cell_count"):
        quantity += f", {product['cell_count']:,} cells"
    rows: list[tuple[str, object]] = [
        ("DIN", product["din"]),
        ("Product code", product["product_code"]),
        ("Division", product["division"]),
    ]
    if product.get("chain_of_identity"):  # certificates issued before decision 104 have none
        rows.append(("Chain of identity", product["chain_of_identity"]))
    rows += [
        ("Product", f"{product['description']} ({product['type']})"),
        ("Quantity", quantity),
    ]
    if product.get("made_from"):
        rows.append(("Made from", product["made_from"]))
    rows.append(("Status at issue", status["label"]))
    if status.get("qc_alert"):
        rows.append(("QC alert", status["qc_alert"]))
    if expiry:
        local = expiry["local"]
        when = local if local.endswith(" UTC") else f"{local} ({_utc(expiry['utc'])})"
        rows.append(("Expiry", f"{when}; {expiry['shelf_life']}"))
    rows += [("Storage", storage["storage"]), ("Transport", storage["transport"])]
    patient_rows: list[tuple[str, object]] = [
        ("Patient initials", patient["initials"]),
        ("Birth date", patient["birth_date"]),
    ]
    if cert.patient is not None:
        patient_rows = [
            ("Patient name", cert.patient.name),
            ("MRN", cert.patient.mrn),
            ("Wristband", cert.patient.wristband),
            *patient_rows,
        ]
    return [
        _section("1. Product"),
        _facts(rows),
        _section("2. Patient (autologous donor and recipient)"),
        _facts(patient_rows),
    ]


def _collection(cert: Certificate) -> list:
    c = cert.content["collection"]
    rows = [
        ("Source", f"{c['description']} ({c['source']})"),
        ("Collection site", c["site"]),
        ("Collected", _both(c["collected_at"])),
        ("Collected by", c["collected_by"]),
        ("Received", _both(c["received_at"])),
    ]
    return [_section("3. Collection"), _facts(rows)]


def _processing(cert: Certificate) -> list:
    story: list = [_section("4. Processing")]
    records = cert.content["processing"]
    if not records:
        return [*story, _p("No processing is recorded.")]
    for record in records:
        story.append(
            _p(
                f"{record['unit']}: protocol {record['protocol']}; started "
                f"{_both(record['started_at'])}, completed {_both(record['completed_at'])}",
            )
        )
        rows = []
        for step in record["steps"]:
            equipment = (
                f"{step['equipment']} {step.get('equipment_name') or ''}".strip()
                if step.get("equipment")
                else "—"
            )
            lot = "—"
            if step.get("lot"):
                lot = f"{step.get('reagent') or ''} lot {step.get('lot_number') or step['lot']}"
                lot += f" ({step['lot']})" if step.get("lot_number") else ""
            rows.append(
                [
                    step["name"],
                    step["operator"],
                    f"{_utc(step['started_at'])} – {_utc(step['ended_at'])[11:]}",
                    equipment,
                    lot.strip(),
                ]
            )
        if rows:
            story.append(
                _grid(
                    ("Step", "Operator", "Time", "Equipment", "Reagent lot"),
                    rows,
                    (40, 30, 38, 40, 42),
                )
            )
    return story


def _materials(cert: Certificate) -> list:
    content = cert.content
    story: list = [_section("5. Equipment and reagent lots")]
    equipment = [
        [
            f"{e['code']} {e['name']}",
            e["kind"],
            e["calibration_valid_until"] or "no calibration on record",
            f"{e['unit']} · {(e['step'] or e['action']).replace('_', ' ')}",
            _utc(e["used_at"]),
        ]
        for e in content["equipment"]
    ]
    if equipment:
        story.append(
            _grid(
                ("Equipment", "Kind", "Calibrated until (at use)", "Used on", "Used at"),
                equipment,
                (50, 28, 30, 50, 30),
            )
        )
    else:
        story.append(_p("No equipment is recorded."))
    lots = [
        [
            f"{lot['code']}",
            f"{lot['reagent']}: {lot['product_name']} ({lot['manufacturer']})",
            lot["lot_number"],
            lot["expires_on"],
            f"{lot['unit']} · {(lot['step'] or lot['action']).replace('_', ' ')}",
        ]
        for lot in content["reagent_lots"]
    ]
    if lots:
        story += [
            Spacer(1, 1.5 * mm),
            _grid(
                ("Lot code", "Reagent", "Lot number", "Expiry", "Used on"),
                lots,
                (34, 62, 28, 22, 44),
            ),
        ]
    else:
        story.append(_p("No reagent lot is recorded."))
    return story


def _qc(cert: Certificate) -> list:
    content = cert.content
    rows = []
    for r in content["qc"]:
        notes = []
        if not r["current"]:
            notes.append("superseded")
        if r["corrects"]:
            notes.append(f"corrects #{r['corrects']}: {r['reason']}")
        if r["on_unit"]:
            notes.append(f"recorded on {r['on_unit']}")
        rows.append(
            [
                f"#{r['result_id']} {r['name']}",
                r["value"],
                f"{r['specification']} (version {r['spec_version']})",
                r["verdict"].upper(),
                f"{r['recorded_by']}, {_utc(r['recorded_at'])}",
                r["instrument"] or f"kit lot {r['kit_lot']}",
                "; ".join(notes) or "current",
            ]
        )
    summary = content["qc_summary"]
    story: list = [_section("6. Quality control")]
    if rows:
        story.append(
            _grid(
                (
                    "Test",
                    "Result",
                    "Specification (version)",
                    "Verdict",
                    "Recorded by, at",
                    "Instrument",
                    "Notes",
                ),
                rows,
                (34, 22, 30, 14, 36, 28, 26),
            )
        )
    else:
        story.append(_p("No QC result is recorded."))
    state = (
        "complete and within specification"
        if summary["complete"]
        else "; ".join(summary["problems"])
    )
    line = f"QC at issue: {state}."
    if summary["pending_at_release"]:
        line += f" Pending at release: {', '.join(summary['pending_at_release'])}."
    story.append(_p(line))
    return story


def _deviations(cert: Certificate) -> list:
    story: list = [_section("7. Deviations")]
    deviations = cert.content["deviations"]
    if not deviations:
        return [*story, _p("No deviation is recorded for this product or its source.")]
    rows = []
    for d in deviations:
        if d["state"] == "closed":
            closed = (
                f"closed {_utc(d['closed_at'])} by {d['closed_by']}: {d['decision']}. "
                f"{d['decision_note'] or ''}".strip()
            )
            if d.get("signature"):
                closed += f" — {d['signature']}"
        else:
            closed = "OPEN — awaiting QA's decision"
        rows.append(
            [
                f"#{d['id']} {d['kind']}",
                d["description"],
                f"{d['opened_by']}, {_utc(d['opened_at'])}",
                closed,
            ]
        )
    story.append(
        _grid(("Deviation", "Description", "Opened", "How it was closed"), rows, (30, 60, 30, 60))
    )
    return story


def _release(cert: Certificate) -> list:
    content = cert.content
    story: list = [_section("8. Release and signatures")]
    release = content["release"]
    if release:
        kind = "Exceptional release" if release["exceptional"] else "Release"
        rows: list[tuple[str, object]] = [
            (kind, f"{_both(release['released_at'])} by {release['released_by']}")
        ]
        if release.get("unit"):
            rows.append(("Released as", release["unit"]))
        if release["flags"]:
            rows.append(("Flags", "; ".join(release["flags"])))
        if release.get("justification"):
            rows.append(("Justification", release["justification"]))
        if release.get("physician"):
            rows.append(("Physician", release["physician"]))
        story.append(_facts(rows))
    signatures = content["signatures"]
    if signatures:
        story.append(
            _grid(
                ("Printed name", "Role", "Meaning", "Signed (UTC)", "Action", "Manifestation"),
                [
                    [
                        s["printed_name"],
                        s["role"],
                        s["meaning"],
                        _utc(s["signed_at"]),
                        s["action"].replace("_", " ")
                        + (f" ({s['unit']})" if s.get("unit") else ""),
                        s["manifestation"],
                    ]
                    for s in signatures
                ],
                (28, 16, 26, 26, 22, 62),
            )
        )
    else:
        story.append(_p("No electronic signature is recorded."))
    return story


def _changes(cert: Certificate) -> list:
    content = cert.content
    story: list = [
        _section("9. Changes after first entry (EU GMP Annex 11 §8.2)"),
        _p(content["changes_statement"], HEAD),
    ]
    changes = content["changes_after_first_entry"]
    if changes:
        story.append(
            _grid(
                ("Data", "First entered", "Corrected to", "Corrected by, at", "Reason"),
                [
                    [
                        c["what"],
                        f"{c['original']} ({c['original_verdict']}), {c['original_by']}, "
                        f"{_utc(c['original_at'])}",
                        f"{c['corrected']} ({c['corrected_verdict']})",
                        f"{c['corrected_by']}, {_utc(c['corrected_at'])}",
                        c["reason"],
                    ]
                    for c in changes
                ],
                (30, 44, 26, 36, 44),
            )
        )
    return story


def _statements(cert: Certificate) -> list:
    return [
        _section("10. Statements"),
        *(_p(s, STATEMENT) for s in cert.content["statements"]),
    ]


def render_pdf(cert: Certificate) -> bytes:
    content = cert.content
    product, head = content["product"], content["certificate"]
    story: list = _header(cert)
    for part in (
        _product,
        _collection,
        _processing,
        _materials,
        _qc,
        _deviations,
        _release,
        _changes,
        _statements,
    ):
        story.append(Spacer(1, 2 * mm))
        section = part(cert)
        story.append(KeepTogether(section[:2]))
        story += section[2:]
    out = io.BytesIO()
    label = f"{product['din']} {product['product_code']} {product['division']}"
    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        title=f"{words.TITLE} {head['number']} — {label}",
        author=content["facility"]["name"],
        subject=f"{words.TITLE} ({cert.copy} copy), SHA-256 {cert.row.sha256}",
    )
    replaced = f", replaces {head['replaces']['number']}" if head["replaces"] else ""

    class Numbered(_NumberedCanvas):
        footer = (
            f"{words.TITLE} {head['number']}{replaced} · {label} · {cert.copy} copy · "
            f"SHA-256 {cert.row.sha256[:16]}…"
        )

    doc.build(story, canvasmaker=Numbered)
    return out.getvalue()
