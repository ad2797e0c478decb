"""The upload form. It only reads what was given; the import service checks the file, the
instrument, the kit lot and the mapping (one set of rules for the page, the API and the
command line)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ...domain.instrument_files import FORMATS, MAPPING_EXAMPLE
from ..units.base_forms import CHOOSE, ServiceForm, code_input

INSTRUMENT_LIST = "instrument-options"


class UploadForm(ServiceForm):
    file = FileField(
        "Result file",
        description="the CSV the instrument exported (at most 5 MiB)",
        render_kw={"accept": ".csv,.txt,.tsv,text/csv,text/plain"},
    )
    format = SelectField(
        "Format",
        choices=[CHOOSE] + [SelectChoice(key, f.label) for key, f in FORMATS.items()],
        validate_choice=False,
    )
    instrument = StringField(
        "Instrument",
        description="pick it, or scan its equipment label (E…)",
        render_kw=code_input(40, list=INSTRUMENT_LIST),
    )
    lot = StringField(
        "Kit lot",
        description="as printed on the kit or cassette box; left empty: the lot the file names",
        render_kw=code_input(40),
    )
    mapping = TextAreaField(
        "Column mapping (generic files only)",
        description=f"JSON, e.g. {MAPPING_EXAMPLE}",
        render_kw={"rows": 4, "spellcheck": "false", "autocomplete": "off"},
    )
    submit = SubmitField("Upload and preview")

    def to_data(self) -> dict:
        return {
            "format": self.format.data or "",
            "instrument": (self.instrument.data or "").strip(),
            "lot": (self.lot.data or "").strip(),
            "mapping": self.mapping.data if (self.mapping.data or "").strip() else None,
        }
