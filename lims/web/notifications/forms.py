"""The preferences form: one checkbox per event kind and personal channel.

Urgent kinds are shown checked and disabled, and carry a hidden "on" beside the disabled
box (a disabled box is never posted). A post without it — a forged one — asks to switch
an urgent kind off, and the service refuses the whole save, so nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import SubmitField

from ...services.inbox import Preferences

ON = "on"


class PreferencesForm(FlaskForm):
    submit = SubmitField("Save preferences")

    def choices(self, shown: Preferences, posted: Mapping[str, str]) -> dict[tuple[str, str], bool]:
        """(event kind, channel) → checked, for every cell of the table."""
        return {
            (cell.kind.key, cell.channel): posted.get(cell.name) == ON
            for _, cells in shown.rows
            for cell in cells
        }
