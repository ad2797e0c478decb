"""The print dialog's form; the label service validates the values (one set of rules)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice


class PrintForm(FlaskForm):
    stock = RadioField(
        "Stock",
        choices=[
            SelectChoice("tube", 'Tube, 2" × 1"'),
            SelectChoice("bag", "Product bag, 100 × 100 mm"),
        ],
    )
    format = RadioField(
        "Format",
        choices=[SelectChoice("pdf", "PDF"), SelectChoice("zpl", "ZPL (Zebra)")],
        default="pdf",
    )
    copies = IntegerField("Copies", default=1, description="1 to 100")
    page = SelectField(
        "PDF page",
        choices=[
            SelectChoice("", "Label size for one copy, Letter sheet for more"),
            SelectChoice("label", "Label size, one label a page (label printer)"),
            SelectChoice("letter", "Letter sheet"),
            SelectChoice("a4", "A4 sheet"),
        ],
    )
    dpi = SelectField(
        "Printer resolution (ZPL)",
        choices=[SelectChoice("203", "203 dpi"), SelectChoice("300", "300 dpi")],
    )
    reason = StringField("Reason for a reprint", description="required when reprinting")

    FIELDS = ("stock", "format", "copies", "page", "dpi", "reason")
