"""The printing pages' forms. They only read what was typed; the printing service checks the
values, the role and the state (one set of rules for the pages and the API)."""

from __future__ import annotations

from typing import Any, ClassVar

from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ...domain.errors import ServiceError
from ...models import Printer
from ...services.station.printing import TEMPLATES
from ..units.base_forms import CHOOSE, ServiceForm, code_input, compact, stripped, text_input

KIND_WORDS = {"zpl_tcp": "ZPL over the network (raw TCP)", "cups_pdf": "PDF through a CUPS queue"}
STOCK_WORDS = {"tube": "Tube labels (50.8 × 25.4 mm)", "bag": "Bag labels (100 × 100 mm)"}
TEMPLATE_WORDS = {
    "source_tube": "Source tube",
    "product_bag": "Product bag",
    "wristband": "Wristband",
    "location": "Location",
}
assert set(TEMPLATE_WORDS) == set(TEMPLATES)


def _id_or_text(value: str | None) -> int | str | None:
    """A chosen record's id as the service takes it; anything else as typed (it says why)."""
    text = stripped(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else text or None


def refused(form: ServiceForm, exc: ServiceError, nothing: str) -> str:
    """Put the service's messages beside their fields; the sentence for the top (the
    service's own, unless it only lists the fields that are marked already)."""
    placed = [form.add_error(name, message) for name, message in exc.fields.items()]
    if placed and all(placed) and exc.code == "invalid_fields":
        return f"{nothing}: see the marked fields."
    return f"{nothing}: {exc.message}."


def printer_choices(printers: list[Printer], none: str) -> list[SelectChoice]:
    return [SelectChoice("", none)] + [
        SelectChoice(str(p.id), f"{p.name} · {p.place}" if p.place else p.name) for p in printers
    ]


class PrinterForm(ServiceForm):
    """Register a printer, or edit one (the form then shows what the register holds)."""

    name = StringField("Name", render_kw=text_input(60, autofocus=True))
    kind = SelectField(
        "Kind",
        choices=[CHOOSE] + [SelectChoice(k, v) for k, v in KIND_WORDS.items()],
        validate_choice=False,
    )
    host = StringField(
        "Network address",
        description="ZPL printers: its fixed IP address or host name",
        render_kw=code_input(255),
    )
    port = IntegerField(
        "Raw TCP port",
        validators=[Optional()],
        description="ZPL printers: 9100 unless its network settings say otherwise",
        render_kw={"inputmode": "numeric", "autocomplete": "off", "placeholder": "9100"},
    )
    queue = StringField(
        "CUPS queue", description="PDF printers: the queue's name", render_kw=code_input(120)
    )
    dpi = SelectField(
        "Resolution",
        choices=[
            SelectChoice("203", "203 dpi (8 dots/mm)"),
            SelectChoice("300", "300 dpi (12 dots/mm)"),
        ],
        validate_choice=False,
    )
    stock = SelectField(
        "Stock loaded",
        choices=[CHOOSE] + [SelectChoice(k, v) for k, v in STOCK_WORDS.items()],
        validate_choice=False,
    )
    place = StringField(
        "Where it stands",
        description="room and bench, as people call them",
        render_kw=text_input(120),
    )
    active = BooleanField(
        "In use", default=True, description="a printer out of use is never chosen"
    )
    site = SelectField("Site", choices=[], validate_choice=False)  # decision 103
    submit = SubmitField("Register printer")

    def offer_sites(self, sites: list[tuple[int, str]]) -> None:
        self.site.choices = [SelectChoice(str(i), name) for i, name in sites]

    def fill_from(self, printer: Printer) -> None:
        self.name.data = printer.name
        self.kind.data = printer.kind
        self.host.data = printer.host or ""
        self.port.data = printer.port
        self.queue.data = printer.queue or ""
        self.dpi.data = str(printer.dpi)
        self.stock.data = printer.stock
        self.place.data = printer.place or ""
        self.active.data = printer.active
        self.site.data = str(printer.site_id) if printer.site_id else ""

    def to_data(self) -> dict[str, Any]:
        data = compact(
            {
                "name": stripped(self.name.data),
                "kind": self.kind.data,
                "host": stripped(self.host.data),
                "port": self.port.data,
                "queue": stripped(self.queue.data),
                "dpi": _id_or_text(self.dpi.data),
                "stock": self.stock.data,
                "place": stripped(self.place.data),
                "site_id": _id_or_text(self.site.data) if self.site.data else None,
            }
        )
        return {**data, "active": bool(self.active.data)}


class RuleForm(ServiceForm):
    """A print rule: this printer for this label at this station (each part may be "any")."""

    ALIASES: ClassVar[dict[str, str]] = {"printer_id": "printer"}

    printer = SelectField("Printer", validate_choice=False)
    template = SelectField(
        "Label",
        choices=[SelectChoice("", "Any label")]
        + [SelectChoice(k, v) for k, v in TEMPLATE_WORDS.items()],
        validate_choice=False,
    )
    workstation = StringField(
        "Workstation",
        description="a workstation's name (set on that workstation); empty: any",
        render_kw=text_input(60),
    )
    network = StringField(
        "Address or network",
        description="a client address or a network such as 10.1.2.0/24; empty: any",
        render_kw=code_input(64),
    )
    submit = SubmitField("Add rule")

    def __init__(self, *args: Any, printers: list[Printer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.printer.choices = [CHOOSE, *printer_choices(printers, "")[1:]]

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "printer_id": _id_or_text(self.printer.data),
                "template": self.template.data,
                "workstation": stripped(self.workstation.data),
                "network": stripped(self.network.data),
            }
        )


class ConfirmForm(ServiceForm):
    """A button that only confirms (removing a rule): the CSRF token and the button."""

    submit = SubmitField("Remove rule")


class WorkstationForm(ServiceForm):
    workstation = StringField(
        "This workstation's name",
        description="1–60 letters, digits, spaces, dots, dashes or underscores, "
        "as the print rules name it; empty: no name",
        render_kw=text_input(60, autofocus=True),
    )
    submit = SubmitField("Save")
    forget = SubmitField("Forget the name")


class PrintForm(ServiceForm):
    """Print now: the printer (default: the rules'), copies and, for a reprint, the reason."""

    ALIASES: ClassVar[dict[str, str]] = {"printer_id": "printer"}

    printer = SelectField("Printer", validate_choice=False)
    copies = IntegerField(
        "Copies",
        validators=[Optional()],
        default=1,
        render_kw={"inputmode": "numeric", "min": 1, "max": 100, "autocomplete": "off"},
    )
    reason = StringField(
        "Reason",
        description="required for a reprint (kept in the ledger)",
        render_kw=text_input(500),
    )
    submit = SubmitField("Print label")

    def __init__(self, *args: Any, printers: list[Printer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.printer.choices = printer_choices(printers, "By the print rules")

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                "printer_id": _id_or_text(self.printer.data),
                "copies": self.copies.data,
                "reason": stripped(self.reason.data),
            }
        )


class ScanBackForm(ServiceForm):
    scanned = StringField(
        "Scan the new label",
        render_kw=code_input(200, autofocus=True, enterkeyhint="done", **{"data-scan-back": True}),
    )
    submit = SubmitField("Check")


class DestroyForm(ServiceForm):
    reason = StringField(
        "Reason",
        description="what happened to the label (kept in the ledger)",
        render_kw=text_input(500),
    )
    submit = SubmitField("Record the label as destroyed")
