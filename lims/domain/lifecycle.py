"""The unit lifecycle as data (product §4).

One table of actions: the statuses an action may start from, the status it leads to,
the roles allowed, the fields it must record (a pydantic model, ``lims.domain.fields``) and
small named guards (``lims.domain.guards``). ``lims.services.units.perform_action`` is the
only code that executes it. Statuses live in ``lims.domain.status``; this module is where
the rest of the code reads the lifecycle, so it names them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from .fields import (
    METHODS,
    SCALP_SITES,
    AdministerFields,
    CompleteProcessingFields,
    DispatchFields,
    DispenseFields,
    DonorTesting,
    ExceptionalReleaseFields,
    Fields,
    MoveFields,
    NoFields,
    PatientFields,
    QcFields,
    ReasonFields,
    ReceiveFields,
    RegisterFields,
    RejectFields,
    ReturnFields,
    SignFields,
    SplitFields,
    StartProcessingFields,
    StepFields,
    StoreFields,
    ThawFields,
)
from .guards import (
    Context,
    Guard,
    administered_time,
    aliquots_fit,
    collected_not_in_future,
    collection_site_fits_type,
    correction_has_reason,
    dose_fits,
    expiry_due,
    guard_field,
    has_protocol,
    is_frozen,
    is_product,
    lot_has_quantity,
    no_qc_alert,
    not_expired,
    products_match_source,
    qa_signs_rejection,
    reagent_has_lot,
    receipt_acceptance,
    receipt_within_acceptance,
    rejection_meaning,
    release_meaning,
    step_has_equipment,
    step_in_protocol,
    step_times,
    sterility_only_after_release,
    stored_within_range,
)
from .roles import Role
from .status import (
    AT_RECEIPT,
    EXPIRABLE,
    FINAL_STATUSES,
    NON_FINAL,
    PRE_RELEASE,
    RELEASABLE,
    Status,
)

__all__ = [
    "ACTIONS",
    "EXPIRABLE",
    "FINAL_STATUSES",
    "METHODS",
    "NON_FINAL",
    "SCALP_SITES",
    "UNIT_ACTIONS",
    "Action",
    "AdministerFields",
    "CompleteProcessingFields",
    "Context",
    "DispenseFields",
    "DonorTesting",
    "ExceptionalReleaseFields",
    "Fields",
    "MoveFields",
    "PatientFields",
    "QcFields",
    "ReceiveFields",
    "RegisterFields",
    "RejectFields",
    "ReturnFields",
    "SignFields",
    "SplitFields",
    "Status",
    "StepFields",
    "ThawFields",
    "action",
    "available_actions",
    "collected_not_in_future",
    "guard_field",
    "not_expired",
    "products_match_source",
    "receipt_acceptance",
]


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    from_statuses: frozenset[Status]
    to_status: Status | None  # None: the status does not change
    roles: frozenset[Role]
    fields: type[Fields]
    guards: tuple[Guard, ...] = field(default=())  # checks of the recorded data: refusal is 422
    state_guards: tuple[Guard, ...] = field(
        default=()
    )  # checks of the unit's state: refusal is 409
    custody: str = "keep"  # "actor": the actor becomes custodian; "none": nobody holds it; "keep"
    # Narrower starting statuses for some roles (a technician rejects at receipt only).
    role_statuses: tuple[tuple[Role, frozenset[Status]], ...] = ()
    signed: bool = False  # may carry an electronic signature (a password to check)

    def statuses_for(self, role: Role | str) -> frozenset[Status]:
        return dict(self.role_statuses).get(Role(role), self.from_statuses)

    def allows(self, status: Status | str, role: Role | str) -> bool:
        return Role(role) in self.roles and Status(status) in self.statuses_for(role)


T, C, Q, SYSTEM = Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.SYSTEM
S = Status
LIVE = NON_FINAL

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "register",
            "Register collection",
            frozenset(),
            S.COLLECTED,
            frozenset({C, T}),
            RegisterFields,
            (collected_not_in_future, collection_site_fits_type),
            custody="actor",
        ),
        Action(
            "dispatch",
            "Dispatch to lab",
            frozenset({S.COLLECTED}),
            S.IN_TRANSIT,
            frozenset({C, T}),
            DispatchFields,
            state_guards=(not_expired,),
            custody="none",
        ),
        Action(
            "receive",
            "Receive",
            frozenset({S.COLLECTED, S.IN_TRANSIT}),
            S.RECEIVED,
            frozenset({T}),
            ReceiveFields,
            (receipt_within_acceptance,),
            custody="actor",
        ),
        Action(
            "start_processing",
            "Start processing",
            # a received source; or an SVF/BM-MNC product taken into culture expansion
            frozenset({S.RECEIVED, S.QUARANTINE, S.RELEASED}),
            S.IN_PROCESSING,
            frozenset({T}),
            StartProcessingFields,
            state_guards=(not_expired, has_protocol),
            custody="actor",
        ),
        Action(
            "record_step",
            "Record processing step",
            frozenset({S.IN_PROCESSING}),
            None,
            frozenset({T}),
            StepFields,
            (step_in_protocol, step_times, reagent_has_lot, lot_has_quantity, step_has_equipment),
        ),
        Action(
            "complete_processing",
            "Complete processing",
            frozenset({S.IN_PROCESSING}),
            S.PROCESSED,
            frozenset({T}),
            CompleteProcessingFields,
            (products_match_source,),
            custody="actor",
        ),
        Action(
            "record_qc",
            "Record QC result",
            frozenset({S.QUARANTINE, S.RELEASED, S.DISPENSED}),
            None,
            frozenset({T}),
            QcFields,
            (sterility_only_after_release, correction_has_reason),
        ),
        Action(
            "release",
            "Release",
            RELEASABLE,
            S.RELEASED,
            frozenset({Q}),
            SignFields,
            (release_meaning,),
            state_guards=(not_expired, no_qc_alert),
            signed=True,
        ),
        Action(
            "exceptional_release",
            "Exceptional release",
            RELEASABLE,
            S.RELEASED,
            frozenset({Q}),
            ExceptionalReleaseFields,
            (release_meaning,),
            state_guards=(not_expired,),
            signed=True,
        ),
        Action(
            "split",
            "Split into aliquots",
            frozenset({S.QUARANTINE, S.RELEASED}),
            None,
            frozenset({T}),
            SplitFields,
            (aliquots_fit,),
            state_guards=(not_expired, is_product),
        ),
        Action(
            "store",
            "Store",
            LIVE,
            None,
            frozenset({T}),
            StoreFields,
            (stored_within_range,),
        ),
        Action(
            "move",
            "Move",
            LIVE,
            None,
            frozenset({T}),
            MoveFields,
            (stored_within_range,),
        ),
        Action(
            "thaw",
            "Thaw",
            LIVE,
            None,
            frozenset({T}),
            ThawFields,
            (stored_within_range,),
            state_guards=(not_expired, is_frozen),
        ),
        Action(
            "dispense",
            "Dispense to clinician",
            frozenset({S.RELEASED}),
            S.DISPENSED,
            frozenset({T}),
            DispenseFields,
            state_guards=(not_expired, no_qc_alert),
        ),
        Action(
            "administer",
            "Administer",
            frozenset({S.DISPENSED}),
            S.ADMINISTERED,
            frozenset({C}),
            AdministerFields,
            (dose_fits, administered_time),
            state_guards=(not_expired, no_qc_alert),
            custody="actor",
        ),
        Action(
            "return",
            "Return to lab",
            frozenset({S.DISPENSED}),
            S.RETURNED,
            frozenset({T, C}),
            ReturnFields,
            custody="actor",
        ),
        Action(
            "reject",
            "Reject",
            PRE_RELEASE,
            S.REJECTED,
            frozenset({T, Q}),
            RejectFields,
            (qa_signs_rejection, rejection_meaning),
            custody="actor",
            role_statuses=((T, AT_RECEIPT),),
            signed=True,
        ),
        Action(
            "discard",
            "Discard",
            NON_FINAL,
            S.DISCARDED,
            frozenset({T, Q}),
            ReasonFields,
            custody="actor",
        ),
        Action(
            "expire",
            "Expire",
            EXPIRABLE,
            S.EXPIRED,
            frozenset({SYSTEM}),
            NoFields,
            state_guards=(expiry_due,),
            custody="none",
        ),
    )
}

UNIT_ACTIONS = {name: a for name, a in ACTIONS.items() if a.from_statuses}


def action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown action {name!r}; known: {', '.join(ACTIONS)}") from None


def available_actions(status: Status | str, role: Role | str) -> list[Action]:
    """Actions a user of ``role`` may start on a unit in ``status`` (before field guards)."""
    return list(_available(Status(status), Role(role)))


@cache
def _available(status: Status, role: Role) -> tuple[Action, ...]:
    # Every look-up and scan asks; the answer is the table's, for a status and a role.
    return tuple(a for a in UNIT_ACTIONS.values() if a.allows(status, role))
