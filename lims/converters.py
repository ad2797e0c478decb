"""The URL converters ``create_app`` registers on the app's ``url_map``.

``<id:name>``: a record's id (unit, patient, user, location, job …). Records are numbered by
32-bit integers (``domain.identifiers.MAX_ID``); a larger number names none, so the rule
does not match and the answer is a 404 like any unknown record, and the number never
reaches the database (where it would overflow).
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

from .domain.identifiers import MAX_ID


class IdConverter(IntegerConverter):
    """Exactly ``int(max=MAX_ID)``: unsigned digits, 0 to ``MAX_ID``. A sign, a point or a
    letter is not matched by its digits, and a number above ``MAX_ID`` raises
    ``ValidationError``: either way the rule does not match. Matches, weighs (against other
    rules) and builds URLs as that ``int`` converter did."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, max=MAX_ID)
