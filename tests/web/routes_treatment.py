"""The route × role table's rows for the treatment pages (issue 18): endpoint -> (method, url
template, roles that get the page), and the makers of the placeholders ({txplan},
{txsession}, {txphoto}). The patient is the test's clinician's, so the role decides."""

from __future__ import annotations

ALL = {"technician", "clinician", "qa", "admin"}  # whoever may see the patient reads
CLINICIAN = {"clinician"}  # plans and records (their own patients: the services decide)


ROUTES: dict[str, tuple] = {
    "patients.treatment_page": ("GET", "/patients/{patient}/treatment", ALL),
    # GET (a refused form's address opened again) is the treatment page; POST sends the form.
    "patients.plan_new": ("GET", "/patients/{patient}/treatment/plans", CLINICIAN),
    "patients.session_add": (
        "GET",
        "/patients/{patient}/treatment/plans/{txplan}/sessions",
        CLINICIAN,
    ),
    "patients.session_cancel": (
        "GET",
        "/patients/{patient}/treatment/plans/{txsession}/cancel",
        CLINICIAN,
    ),
    "patients.visit": (
        "GET",
        "/patients/{patient}/treatment/plans/{txplan}/visits/baseline",
        ALL,
    ),
    "patients.photo": ("GET", "/patients/{patient}/treatment/photos/{txphoto}", ALL),
}


def a_plan(users, owner, unit) -> int:
    from lims.services.actions import treatment
    from tests.api.access_treatment import plan_body

    return treatment.create_plan(unit.patient.id, plan_body(), users["clinician"]).id


def a_session(users, owner, unit) -> str:
    from lims.services.actions import treatment

    plan = treatment.get_plan(a_plan(users, owner, unit), users["clinician"])
    return f"{plan.id}/sessions/{plan.sessions[0].id}"


def a_photo(users, owner, unit) -> int:
    from tests.api.access_treatment import a_photo as made

    return made(users, owner, unit)


ROWS: dict = {"txplan": a_plan, "txsession": a_session, "txphoto": a_photo}
