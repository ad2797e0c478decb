"""The refusals schema-valid requests may still meet (422), per operation, for the document.

A JSON Schema says what a well-formed request is; it cannot say "not in the future", "a
collection site of this type", "the check character of these 13 characters" or "your own
password". These are the lab's rules; the services and the domain keep them, and the
document names them (``Operation.rules``) so a client is never surprised. The lifecycle's
own data guards are read from the lifecycle table, not written again here.
"""

from __future__ import annotations

from ..domain.lifecycle import ACTIONS, UNIT_ACTIONS, guard_field
from .operation import Rule


def guard_rules(*actions: str) -> tuple[Rule, ...]:
    """The data guards of these lifecycle actions (422 ``refused_<guard>``), each once."""
    found: dict[str, Rule] = {}
    for name in actions:
        for guard in ACTIONS[name].guards:
            words = guard.__name__.replace("_", " ")
            found[guard.__name__] = Rule(guard_field(guard), (f"refused_{guard.__name__}",), words)
    return tuple(found.values())


# What ``domain.codes.classify`` and ``domain.identifiers`` refuse in a code of the right
# length and characters: its structure and its ISO 7064 check character.
CODE_PROBLEMS = (
    "wrong_length",
    "wrong_format",
    "bad_character",
    "bad_check_character",
    "missing_check_character",
    "bad_flags",
    "bad_product",
    "bad_division",
)
CODE_WORDS = (
    "a code as printed: a DIN with its check character (typed, or '=' bar-coded with its "
    "flags), optionally with product code and division; a wristband or location code "
    "with its check character; or a product code ('=<')"
)

REGISTER = (
    *guard_rules("register"),
    Rule("patient.birth_date", ("invalid_fields",), "not in the future, not before 1900"),
    Rule("site", ("not_your_site",), "the facility number of one of the registrant's sites"),
    Rule(
        "course",
        ("invalid_fields", "unknown_course"),
        "'new', or the chain-of-identity identifier of one of the patient's therapy courses: "
        "CH + 5-character facility + 2-digit year + 6 characters (scanned: '&/' before it)",
    ),
)

PASSWORDS = (
    Rule(
        "password",
        ("wrong_password",),
        "the signer's own password (who signs in by single sign-on: their signing password)",
    ),
    Rule("physician_password", ("wrong_password",), "the prescribing physician's password"),
)

# What the actions' effects check against the records (``services/actions``).
EFFECTS = (
    Rule(
        "location",
        (*CODE_PROBLEMS, "wrong_kind", "position_needed"),
        "a location's code as printed (a box's: with a position)",
    ),
    Rule("wristband", (*CODE_PROBLEMS, "wrong_kind"), "a patient's wristband code as printed"),
    Rule(
        "equipment",
        (*CODE_PROBLEMS, "wrong_kind", "invalid_fields"),
        "an item's register code as printed (E…), of the kind the step is done on",
    ),
    Rule(
        "lot",
        (*CODE_PROBLEMS, "wrong_kind"),
        "a reagent lot's register code as printed (R…); for QC, else the kit's own lot",
    ),
    Rule("reagent", ("invalid_fields",), "the reagent the step uses, if named"),
    Rule("deviation", ("invalid_fields",), "an open permit of this unit for this item"),
    Rule("clinician", ("invalid_fields",), "an active clinician's username"),
    Rule("physician", ("invalid_fields",), "an active clinician's username"),
    Rule("steps", ("invalid_fields",), "each step as record_step takes it"),
    Rule("test", ("invalid_fields",), "a QC test of the product's type"),
    Rule(
        "value",
        ("invalid_fields",),
        "a number for a numeric test (a percentage 0-100), else one of the test's words",
    ),
)
UNIT_ACTION = (*guard_rules(*UNIT_ACTIONS), *PASSWORDS, *EFFECTS)

SCAN = (Rule("code", CODE_PROBLEMS, CODE_WORDS),)

IDENTITY = (
    Rule("wristband", (*CODE_PROBLEMS, "wrong_kind"), "a patient's wristband code"),
    Rule("unit", (*CODE_PROBLEMS, "wrong_kind"), "a unit's code"),
)

LABEL = (
    Rule("reason", ("reason_required",), "a reprint (printed before) needs a reason"),
    Rule("stock", ("label_does_not_fit",), "a stock the label's text fits (a product's: the bag)"),
)

LEDGER_SEARCH = (
    Rule("unit", (*CODE_PROBLEMS, "wrong_kind"), f"a unit id, or a unit's code: {CODE_WORDS}"),
    Rule("since", ("invalid_filter",), "a real date, or date and time with its zone"),
    Rule(
        "until",
        ("invalid_filter",),
        "a real date, or date and time with its zone; not before since",
    ),
    Rule("cursor", ("bad_cursor",), "the next_cursor of the page before"),
)

SCHEDULED = Rule("scheduled_at", ("invalid_fields",), "a time still to come, at most a year ahead")
BOOKING = (
    SCHEDULED,
    Rule(
        "unit_id", ("invalid_fields",), "an injection's product of this patient, still injectable"
    ),
)
MOVE = (SCHEDULED,)

PASSWORD_CHANGE = (
    Rule("current_password", ("wrong_password",), "the caller's own password"),
    Rule("new_password", ("invalid_fields",), "not the username, not a common password"),
)

SPEC = (
    Rule(
        "limit",
        ("invalid_fields",),
        "a numeric test takes an operator and a limit (kept from the version in force when "
        "left out; a percentage at most 100), a word test none",
    ),
    Rule("accept", ("invalid_fields",), "a word test takes its own words (not pending)"),
    Rule("pending_at_release", ("invalid_fields",), "only for a test with a pending result"),
)

PERMIT = (
    Rule("equipment", (*CODE_PROBLEMS, "wrong_kind"), "an item's register code as printed (E…)"),
    Rule("reason", ("invalid_fields",), "1 to 2000 characters once spaces are folded"),
)
