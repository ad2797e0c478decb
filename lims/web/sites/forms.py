"""The sites pages' forms. They only read what was typed; the sites service checks the
values and the role (one set of rules for the pages and the API)."""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from ...models import Site
from ..units.base_forms import CHOOSE, ServiceForm, code_input, stripped, text_input

KIND_WORDS = {
    "clinic": "Clinic (collects)",
    "processing_lab": "Processing laboratory",
    "testing_lab": "Testing laboratory",
}


class SiteForm(ServiceForm):
    """Register a site, or edit one (the code is shown, not sent: it is fixed)."""

    code = StringField(
        "Facility identification number",
        description="ISBT 128: 5 characters, A-Z and 0-9; fixed once registered",
        render_kw=code_input(5),
    )
    name = StringField("Name", render_kw=text_input(120, autofocus=True))
    address = TextAreaField("Address", render_kw={"maxlength": 500, "rows": 3})
    timezone = StringField(
        "Time zone",
        description="its IANA name, e.g. Europe/Paris; local times there are shown in it",
        render_kw=code_input(64),
    )
    kind = SelectField(
        "Kind",
        choices=[CHOOSE] + [SelectChoice(k, v) for k, v in KIND_WORDS.items()],
        validate_choice=False,
    )
    active = BooleanField("In use", default=True)
    submit = SubmitField("Register site")

    def fill_from(self, site: Site) -> None:
        self.name.data = site.name
        self.address.data = site.address
        self.timezone.data = site.timezone
        self.kind.data = site.kind
        self.active.data = site.active

    def to_data(self, *, new: bool) -> dict[str, Any]:
        data = {
            "name": stripped(self.name.data),
            "address": stripped(self.address.data),
            "timezone": stripped(self.timezone.data),
            "kind": self.kind.data or "",
        }
        if new:
            return {**data, "code": stripped(self.code.data)}
        return {**data, "active": bool(self.active.data)}


class MembershipForm(ServiceForm):
    """The sites an account belongs to."""

    site_ids = SelectMultipleField("Sites", coerce=int, validate_choice=False)
    submit = SubmitField("Save sites")

    def to_data(self) -> dict[str, Any]:
        return {"site_ids": list(self.site_ids.data or [])}
