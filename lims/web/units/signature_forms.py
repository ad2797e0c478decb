"""Forms that carry an electronic signature: release, exceptional release, QA's rejection.

A signature is the signer's password entered again and the meaning of the signature
(21 CFR Part 11 §11.50, §11.200); an exceptional release adds the physician who co-signs
with their own password. These forms share that shape (``SignatureForm``) and the page
shows the signature's inputs apart from the rest, so they live together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from wtforms import PasswordField, RadioField, SelectField, TextAreaField
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice

from ...domain.signatures import ACTION_MEANINGS
from .base_forms import CHOOSE, VersionedForm, compact, stripped


def _password(label: str, description: str | None = None) -> PasswordField:
    """A signature's password: never prefilled and never sent back after a refusal."""
    return PasswordField(
        label,
        description=description,
        render_kw={
            "autocomplete": "current-password",
            "maxlength": 1024,
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )


class SignatureForm(VersionedForm):
    """An electronic signature: the password again, and what the signature means."""

    ACTION: ClassVar[str] = "release"
    SIGNATURE_FIELDS: ClassVar[tuple[str, ...]] = ("password", "meaning")

    password = _password("Your password", "Your signature: enter your password again.")
    meaning = RadioField("Meaning of your signature", choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.meaning.choices = [
            SelectChoice(m.value, m.value) for m in ACTION_MEANINGS[self.ACTION]
        ]

    def prefill(self, args: Any) -> None:
        self.meaning.data = self.meaning.choices[0].value

    def other_fields(self) -> list[Field]:
        """What the form records besides the signature, in the order it is filled in."""
        skip = {"csrf_token", "version", *self.SIGNATURE_FIELDS}
        return [f for f in self if f.name not in skip]

    def signature_fields(self) -> list[Field]:
        return [self[name] for name in self.SIGNATURE_FIELDS]

    def to_data(self) -> dict[str, Any]:
        return compact({"password": self.password.data, "meaning": self.meaning.data})


class ReleaseForm(SignatureForm):
    ACTION = "release"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.password.render_kw = {**self.password.render_kw, "autofocus": True}


class ExceptionalReleaseForm(SignatureForm):
    ACTION = "exceptional_release"
    SIGNATURE_FIELDS = ("physician", "physician_password", "password", "meaning")

    justification = TextAreaField(
        "Justification",
        description="Why this product is released although its QC is incomplete or out "
        "of specification.",
        render_kw={"maxlength": 500, "rows": 4, "autofocus": True},
    )
    physician = SelectField("Physician who co-signs", choices=[CHOOSE], validate_choice=False)
    physician_password = _password(
        "Physician's password", "The physician enters their own password: their signature."
    )

    def __init__(self, *args, clinicians: Sequence[tuple[str, str]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.physician.choices = [CHOOSE] + [
            SelectChoice(username, f"{name} ({username})") for username, name in clinicians
        ]

    def to_data(self) -> dict[str, Any]:
        return compact(
            {
                **super().to_data(),
                "justification": stripped(self.justification.data),
                "physician": self.physician.data,
                "physician_password": self.physician_password.data,
            }
        )


class SignedRejectForm(SignatureForm):
    """QA rejects with a reason and signs it; a technician's form asks the reason only."""

    ACTION = "reject"

    reason = TextAreaField("Reason", render_kw={"maxlength": 500, "rows": 3, "autofocus": True})

    def to_data(self) -> dict[str, Any]:
        return compact({**super().to_data(), "reason": stripped(self.reason.data)})
