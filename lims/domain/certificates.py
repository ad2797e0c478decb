"""The certificate of release in words (decision 85): the statements it carries,
how a patient is named on the copy that travels with the product, the transport conditions
of each storage range, and why a certificate was issued. Words only; no Flask, no database.

Two copies are printed from one frozen content. The **travelling copy** goes with the
product: the patient by initials and birth date, never the full name or the record number.
The **file copy** stays in the lab's file and adds the full name and the MRN, read from the
patient record when it is printed (so the digest of the frozen content covers what travels).
"""

from __future__ import annotations

import re
import unicodedata

from .catalogue import COLD, CRYO, ROOM, THAWED_STORAGE, Temperature
from .roles import Role

TITLE = "Certificate of release"
TRAVELLING, FILE = "travelling", "file"
COPIES = (TRAVELLING, FILE)
COPY_NAMES = {
    TRAVELLING: "Travelling copy — accompanies the product",
    FILE: "File copy — for the laboratory's file; does not leave the facility",
}
# Who may print the file copy (name and MRN): those who answer for the product and the
# clinician who treats the patient. Everyone who may see the unit may print the travelling copy.
FILE_COPY_ROLES = frozenset({Role.QA, Role.TECHNICIAN, Role.CLINICIAN})

# The statements every certificate carries; the first two are the product bag label's own
# warnings (``services.station.labels``), word for word.
AUTOLOGOUS = "FOR AUTOLOGOUS USE ONLY"
BIOHAZARD = "BIOHAZARD: human cells, handle as potentially infectious"
STATEMENTS = (
    AUTOLOGOUS,
    BIOHAZARD,
    "Only for the patient identified on this certificate and on the product label; check the "
    "patient's wristband against the product at the bedside before administration.",
    "Do not irradiate. Do not use a leukocyte-reduction filter.",
)

NO_CHANGES = "No data on this certificate was changed after first entry."


def changes_statement(count: int) -> str:
    """EU GMP Annex 11 §8.2: whether any data on the printout was changed after first entry."""
    if count == 0:
        return NO_CHANGES
    noun = "entry was" if count == 1 else "entries were"
    return (
        f"{count} {noun} changed after first entry: each correction is listed below with the "
        "original value, the corrected value, who corrected it, when and why."
    )


# How a product is carried, by the storage range of its type (``domain.catalogue``).
TRANSPORT: dict[Temperature, str] = {
    COLD: "Transport at 2–8 °C in a validated cool box with a temperature logger; do not freeze.",
    ROOM: "Transport at 15–25 °C in an insulated box with a temperature logger; do not "
    "refrigerate.",
    CRYO: "Transport at or below −150 °C in a liquid-nitrogen dry shipper with a temperature "
    "logger; do not thaw in transit.",
    THAWED_STORAGE: "Thawed: keep at 2–25 °C and administer within 4 h of thaw; do not refreeze.",
}


def transport_conditions(storage: Temperature) -> str:
    return TRANSPORT.get(storage) or f"Transport within the storage range ({storage})."


def storage_words(storage: Temperature) -> str:
    """The storage range in words, as the product label prints it."""
    text = str(storage)
    for sign, words in (("≤ ", "at or below "), ("≥ ", "at or above ")):
        if text.startswith(sign):
            return "Store " + words + text[len(sign) :]
    return f"Store at {text}"


def initials(name: str) -> str:
    """The initials of a name, each followed by a point: Pat Example is P.E., Jean-Luc
    Picard is J.L.P., Émile Zola is É.Z. (letters as written, upper case)."""
    parts = [p for p in re.split(r"[\s\-‐‑–]+", unicodedata.normalize("NFC", name or "")) if p]
    letters = [next((ch for ch in p if ch.isalpha()), "") for p in parts]
    return "".join(f"{ch.upper()}." for ch in letters if ch) or "—"


def reissue_reason_for_result(test_name: str, value: str, verdict: str) -> str:
    return f"QC result after release: {test_name} — {value} ({verdict})"


def reissue_reason_for_correction(
    test_name: str, old: str, new: str, verdict: str, why: str
) -> str:
    return f"QC correction after release: {test_name} {old} → {new} ({verdict}); reason: {why}"


def reissue_reason_for_deviation(number: int, kind: str, decision: str) -> str:
    return f"Deviation #{number} ({kind}) closed after release: {decision}"


def replaces_words(number: int, replaced: int | None, replaced_on: str | None) -> str:
    """ "Certificate 2, replaces certificate 1 of 2026-05-01 10:00 UTC" — or just the number."""
    if replaced is None:
        return f"Certificate {number}"
    return f"Certificate {number}, replaces certificate {replaced} of {replaced_on}"
