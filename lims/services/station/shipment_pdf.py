"""A shipment's papers as PDFs (decision 102): the manifest that travels with the courier and
the packing list that goes inside the box. A4 portrait, the vendored DejaVu Sans embedded.

The manifest: the shipment's code large with its Code 128 (data exactly the code, so the
receiving site scans it), from and to, how it travels (container, courier, tracking number,
shipping condition with its acceptance range, temperature logger), who packed and who checked
it, when it left and when it is expected, then one row per unit on the manifest with an empty
"Received" box; once received, what the receiver found. The packing list: the code, from and
to, one row per unit with "packed" and "checked" boxes, and the two signature lines.

No patient is named: these papers travel with a courier. A unit is named by its DIN (eye
readable), product code and division only. A shipment still being packed prints "DRAFT — not
dispatched" on top and across every page. Each page's footer: the code, what the document
is, when it was generated and "Page n of m". A long manifest flows onto further pages, the
table's header repeated.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ...domain.shipments import CONDITIONS, Outcome, ShipmentStatus
from ...labels.flowables import Code128Bars
from ...labels.fonts import BOLD, FONT
from ...models import Shipment, ShipmentItem
from ...timefmt import local_time

PAGE = A4
MARGIN = 14 * mm
BOTTOM = 16 * mm
FRAME_PADDING = 6  # points: reportlab's frame pads each side
WIDTH = PAGE[0] - 2 * MARGIN - 2 * FRAME_PADDING

MANIFEST = "Shipment manifest"
PACKING_LIST = "Packing list"
DRAFT = "DRAFT — not dispatched"
CANCELLED = "CANCELLED — not dispatched"

TEXT = ParagraphStyle("text", fontName=FONT, fontSize=8.5, leading=10.5)
SMALL = ParagraphStyle("small", parent=TEXT, fontSize=7.5, leading=9)
HEAD = ParagraphStyle("head", parent=SMALL, fontName=BOLD)
TITLE = ParagraphStyle("title", parent=TEXT, fontName=BOLD, fontSize=17, leading=21)
CODE = ParagraphStyle("code", parent=TEXT, fontName=BOLD, fontSize=22, leading=27)
SITE = ParagraphStyle("site", parent=TEXT, fontName=BOLD, fontSize=10, leading=12.5)
SECTION = ParagraphStyle(
    "section", parent=TEXT, fontName=BOLD, fontSize=10.5, leading=13, spaceBefore=5, spaceAfter=1
)
BANNER = ParagraphStyle(
    "banner",
    parent=TEXT,
    fontName=BOLD,
    fontSize=16,
    leading=20,
    alignment=1,
    textColor=colors.white,
)
ALERT = ParagraphStyle("alert", parent=SMALL, fontName=BOLD, textColor=colors.HexColor("#b00020"))
RED = colors.HexColor("#b00020")

GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#8a9aa6")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3ebf0")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
)
FACTS = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 0.8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0.8),
    ]
)
BARE = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]
)

OUTCOME_WORDS = {
    Outcome.PACKED: "not checked",
    Outcome.ACCEPTED: "accepted",
    Outcome.MISSING: "MISSING",
    Outcome.DAMAGED: "DAMAGED",
    Outcome.UNEXPECTED: "UNEXPECTED (not on the manifest)",
}


# --- small pieces -------------------------------------------------------------------------


def _p(text: object, style: ParagraphStyle = TEXT) -> Paragraph:
    return Paragraph(escape("—" if text in (None, "") else str(text)).replace("\n", "<br/>"), style)


def _when(value: datetime | None) -> str:
    return local_time(value) if value is not None else "—"


def _name(user: Any) -> str | None:
    return getattr(user, "full_name", None) or None


def _facts(rows: Iterable[tuple[str, object]], width: float = WIDTH, label: float = 36 * mm):
    table = Table(
        [[_p(name, HEAD), _p(value)] for name, value in rows], colWidths=[label, width - label]
    )
    table.setStyle(FACTS)
    return table


def _grid(
    head: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[float], extra=()
) -> LongTable:
    """A table that flows over pages, its header row repeated on each."""
    data = [[_p(h, HEAD) for h in head]]
    data += [[c if isinstance(c, Flowable) else _p(c, SMALL) for c in row] for row in rows]
    scale = WIDTH / sum(widths)
    table = LongTable(data, colWidths=[w * scale for w in widths], repeatRows=1)
    table.setStyle(GRID)
    if extra:
        table.setStyle(TableStyle(list(extra)))
    return table


def _section(title: str) -> Paragraph:
    return _p(title, SECTION)


class TickBox(Flowable):
    """An empty square to tick by hand."""

    def __init__(self, size: float = 4 * mm) -> None:
        super().__init__()
        self.width = self.height = size

    def wrap(self, *args: Any) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self.canv.setLineWidth(0.7)
        self.canv.rect(0, 0, self.width, self.height, stroke=1, fill=0)


class _NumberedCanvas(Canvas):
    """Draws the footer, with "Page n of m", and any watermark once every page is laid out."""

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
                self.setFillColor(colors.Color(0.69, 0, 0.13, alpha=0.13))
                self.setFont(BOLD, 64)
                self.translate(PAGE[0] / 2, PAGE[1] / 2)
                self.rotate(50)
                self.drawCentredString(0, -20, self.watermark)
                self.restoreState()
            self.setFont(FONT, 7)
            self.setFillColor(colors.HexColor("#44525c"))
            self.drawString(MARGIN, 8 * mm, self.footer)
            self.drawRightString(PAGE[0] - MARGIN, 8 * mm, f"Page {number} of {total}")
            super().showPage()
        super().save()


# --- the parts ----------------------------------------------------------------------------


def _banner(shipment: Shipment) -> list:
    if shipment.status == ShipmentStatus.PREPARING:
        words = DRAFT
    elif shipment.status == ShipmentStatus.CANCELLED:
        words = CANCELLED
    else:
        return []
    banner = Table([[_p(words, BANNER)]], colWidths=[WIDTH])
    banner.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), RED),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return [banner, Spacer(1, 3 * mm)]


def _watermark(shipment: Shipment) -> str:
    if shipment.status == ShipmentStatus.PREPARING:
        return "DRAFT"
    if shipment.status == ShipmentStatus.CANCELLED:
        return "CANCELLED"
    return ""


def _top(shipment: Shipment, title: str) -> list:
    barcode = Code128Bars(
        shipment.code, module=0.36 * mm, bar_height=12 * mm, under=4.5 * mm, font_size=9
    )
    left = [_p(title, TITLE), _p(shipment.code, CODE)]
    top = Table([[left, barcode]], colWidths=[WIDTH - barcode.width, barcode.width])
    top.setStyle(TableStyle([*BARE.getCommands(), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    return [*_banner(shipment), top, Spacer(1, 3 * mm)]


def _site(heading: str, site: Any) -> list:
    if site is None:
        return [_p(heading, HEAD), _p(None)]
    return [
        _p(heading, HEAD),
        _p(site.name, SITE),
        _p(f"Facility identification number {site.code}"),
        _p(site.address),
    ]


def _from_to(shipment: Shipment) -> Table:
    half = WIDTH / 2
    table = Table(
        [[_site("From", shipment.from_site), _site("To", shipment.to_site)]],
        colWidths=[half, half],
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (0, 0), 0.5, colors.HexColor("#8a9aa6")),
                ("BOX", (1, 0), (1, 0), 0.5, colors.HexColor("#8a9aa6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _condition(shipment: Shipment) -> tuple[str, str]:
    """The shipping condition's label and its acceptance range (the key if unknown)."""
    found = CONDITIONS.get(shipment.condition)
    if found is None:
        return shipment.condition or "—", "—"
    return found.label, found.range_text


def _status_words(shipment: Shipment) -> str:
    try:
        return ShipmentStatus(shipment.status).value.capitalize()
    except ValueError:
        return str(shipment.status)


def _travel(shipment: Shipment) -> list:
    label, acceptance = _condition(shipment)
    rows: list[tuple[str, object]] = [
        ("Status", _status_words(shipment)),
        ("Container", shipment.container),
        ("Courier", shipment.courier),
        ("Tracking number", shipment.tracking_number),
        ("Shipping condition", label),
        ("Acceptance range", f"must arrive at {acceptance}" if acceptance != "—" else "—"),
        ("Temperature logger", shipment.logger_id),
        ("Packed by", _name(shipment.packed_by)),
        ("Checked by", _name(shipment.checked_by)),
        ("Dispatched", _when(shipment.dispatched_at)),
        ("Expected by", _when(shipment.expected_by)),
        ("Note", shipment.note),
    ]
    return [_section("Shipment"), _facts(rows)]


def _manifest_items(shipment: Shipment) -> list[ShipmentItem]:
    return [item for item in shipment.items if item.on_manifest]


def _din(item: ShipmentItem) -> str:
    """The unit's DIN as people read it, or the code scanned for an unknown unit."""
    if item.unit is not None:
        return item.unit.eye_readable
    return item.scanned or "—"


def _product(item: ShipmentItem) -> str:
    unit = item.unit
    return f"{unit.product_code} · {unit.division}" if unit is not None else "—"


def _volume(unit: Any) -> str:
    return f"{unit.volume_ml:g}" if unit is not None and unit.volume_ml is not None else "—"


def _items_table(shipment: Shipment) -> list:
    items = _manifest_items(shipment)
    story: list = [_section(f"Units on the manifest ({len(items)})")]
    if not items:
        return [*story, _p("No unit is on the manifest.")]
    rows = [
        [
            str(number),
            _din(item),
            _product(item),
            item.unit.unit_type if item.unit is not None else "—",
            _volume(item.unit),
            _when(item.unit.expires_at) if item.unit is not None else "—",
            TickBox(),
        ]
        for number, item in enumerate(items, start=1)
    ]
    story.append(
        _grid(
            ("#", "DIN", "Product code · division", "Type", "Volume (mL)", "Expiry", "Received ✓"),
            rows,
            (7, 36, 27, 14, 13, 30, 15),
            extra=[("ALIGN", (-1, 1), (-1, -1), "CENTER")],
        )
    )
    return story


def _receipt(shipment: Shipment) -> list:
    if shipment.status != ShipmentStatus.RECEIVED and shipment.received_at is None:
        return []
    acceptance = _condition(shipment)[1]
    temperature: object = None
    if shipment.arrival_temperature_c is not None:
        temperature = f"{shipment.arrival_temperature_c:g} °C"
        found = CONDITIONS.get(shipment.condition)
        if found is not None:
            within = found.contains(shipment.arrival_temperature_c)
            temperature += (
                f" (within {acceptance})" if within else f" — OUTSIDE the range {acceptance}"
            )
    items = list(shipment.items)
    counts = Counter(str(item.outcome) for item in items)  # Outcome is a StrEnum
    summary = (
        f"{len(_manifest_items(shipment))} on the manifest: {counts[Outcome.ACCEPTED]} accepted, "
        f"{counts[Outcome.MISSING]} missing, {counts[Outcome.DAMAGED]} damaged"
        + (f", {counts[Outcome.PACKED]} not checked" if counts[Outcome.PACKED] else "")
        + f"; {counts[Outcome.UNEXPECTED]} unexpected."
    )
    facts = _facts(
        [
            ("Received by", _name(shipment.received_by)),
            ("Received", _when(shipment.received_at)),
            ("Arrival temperature", temperature),
            ("Receipt note", shipment.receipt_note),
            ("Found", summary),
        ]
    )
    story: list = [KeepTogether([_section("Receipt"), facts])]
    rows, marks = [], []
    for number, item in enumerate(items, start=1):
        try:
            outcome = Outcome(item.outcome)
        except ValueError:
            words, bad = str(item.outcome), False
        else:
            words, bad = OUTCOME_WORDS[outcome], outcome.discrepancy
        rows.append(
            [
                str(number),
                _din(item),
                _product(item),
                "yes" if item.on_manifest else "no",
                _p(words, ALERT) if bad else words,
            ]
        )
        if bad:
            marks.append(("BACKGROUND", (0, number), (-1, number), colors.HexColor("#fbe9ec")))
    if rows:
        story.append(Spacer(1, 1.5 * mm))
        story.append(
            _grid(
                ("#", "DIN or code scanned", "Product code · division", "On manifest", "Outcome"),
                rows,
                (7, 48, 30, 17, 40),
                extra=[*marks],
            )
        )
    return story


def _signatures(shipment: Shipment) -> Table:
    blank = ""
    data = [
        [blank, _p("Printed name", HEAD), _p("Signature", HEAD), _p("Date and time", HEAD)],
        [_p("Packed by", HEAD), _p(_name(shipment.packed_by) or blank), blank, blank],
        [_p("Checked by", HEAD), _p(_name(shipment.checked_by) or blank), blank, blank],
    ]
    widths = [26 * mm, 56 * mm, 50 * mm]
    widths.append(WIDTH - sum(widths))
    table = Table(data, colWidths=widths, rowHeights=[None, 12 * mm, 12 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 1), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (1, 1), (-1, -1), 0.6, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _build(shipment: Shipment, story: list, title: str, generated_at: datetime | None) -> bytes:
    generated = local_time(generated_at or datetime.now(UTC))
    out = io.BytesIO()
    from_site = shipment.from_site
    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=BOTTOM,
        title=f"{title} {shipment.code}",
        author=from_site.name if from_site is not None else "",
        subject=f"{title} of shipment {shipment.code}",
    )

    class Numbered(_NumberedCanvas):
        footer = f"Shipment {shipment.code} · {title} · generated {generated}"
        watermark = _watermark(shipment)

    doc.build(story, canvasmaker=Numbered)
    return out.getvalue()


# --- the documents ------------------------------------------------------------------------


def manifest_pdf(shipment: Shipment, *, generated_at: datetime | None = None) -> bytes:
    """The manifest travelling with the shipment (and, once received, what was found)."""
    story: list = _top(shipment, MANIFEST)
    story += [_from_to(shipment), Spacer(1, 1 * mm)]
    story += _travel(shipment)
    story += _items_table(shipment)
    receipt = _receipt(shipment)
    if receipt:
        story += [Spacer(1, 2 * mm), *receipt]
    return _build(shipment, story, MANIFEST, generated_at)


def packing_list_pdf(shipment: Shipment, *, generated_at: datetime | None = None) -> bytes:
    """The list that goes inside the box: each unit ticked as packed and as checked, signed."""
    story: list = _top(shipment, PACKING_LIST)
    story += [_from_to(shipment), Spacer(1, 1 * mm)]
    label, acceptance = _condition(shipment)
    story.append(
        _facts(
            [
                ("Shipping condition", label),
                ("Acceptance range", acceptance),
                ("Container", shipment.container),
                ("Temperature logger", shipment.logger_id),
            ]
        )
    )
    items = _manifest_items(shipment)
    story.append(_section(f"Units ({len(items)})"))
    if items:
        rows = [
            [
                str(number),
                _din(item),
                _product(item),
                item.unit.unit_type if item.unit is not None else "—",
                TickBox(),
                TickBox(),
            ]
            for number, item in enumerate(items, start=1)
        ]
        story.append(
            _grid(
                ("#", "DIN", "Product code · division", "Type", "Packed", "Checked"),
                rows,
                (7, 40, 30, 18, 13, 13),
                extra=[
                    ("ALIGN", (-2, 1), (-1, -1), "CENTER"),
                ],
            )
        )
    else:
        story.append(_p("No unit is on the manifest."))
    story += [
        Spacer(1, 5 * mm),
        KeepTogether([_section("Signatures"), _signatures(shipment)]),
    ]
    return _build(shipment, story, PACKING_LIST, generated_at)
