"""The print dialog's form; the label service validates the values (one set of rules)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField


class PrintForm(FlaskForm):
    stock = RadioField(
        "Stock",
        choices=[("tube", 'Tube, 2" × 1"'), ("bag", "Product bag, 100 × 100 mm")],
    )
    format = RadioField(
        "Format", choices=[("pdf", "PDF sheet"), ("zpl", "ZPL (Zebra)")], default="pdf"
    )
    copies = IntegerField("Copies", default=1, description="1 to 100")
    dpi = SelectField("Printer resolution (ZPL)", choices=[("203", "203 dpi"), ("300", "300 dpi")])
    reason = StringField("Reason for a reprint", description="required when reprinting")

    FIELDS = ("stock", "format", "copies", "dpi", "reason")
