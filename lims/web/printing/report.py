"""The day's label reconciliation, as a page and as CSV: per subject and label template, what
was printed, reprinted (with the reasons), confirmed by scan, mismatched, destroyed, failed to
reach the printer, and is still unconfirmed; each job links to its page."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...security import roles_required
from ...services.audit.custody_report import cell
from ...services.station import printing
from . import bp

READERS = tuple(printing.READ_ROLES)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COUNTS = ("printed", "reprinted", "confirmed", "mismatched", "destroyed", "failed", "unconfirmed")
CSV_HEADER = ("day", "zone", "subject", "template", *COUNTS, "reprint_reasons", "jobs")


def _day(raw: str | None) -> tuple[date | None, str | None]:
    """The asked-for day, or None for today; or why the text is not a day."""
    text = (raw or "").strip()
    if not text:
        return None, None
    try:
        if _DAY.match(text):
            return date.fromisoformat(text), None
    except ValueError:
        pass
    return None, f"{text[:20]!r} is not a day: choose one as YYYY-MM-DD"


@bp.get("/labels/report")
@roles_required(*READERS)
def label_report() -> ResponseReturnValue:
    day, error = _day(request.args.get("day"))
    if error:
        return render_template("printing/report.html", report=None, error=error, counts=COUNTS), 422
    report = printing.label_report(current_user._get_current_object(), day)
    return render_template("printing/report.html", report=report, counts=COUNTS)


@bp.get("/labels/report.csv")
@roles_required(*READERS)
def label_report_csv() -> ResponseReturnValue:
    """The page's rows, one per subject and template, for a spreadsheet."""
    day, error = _day(request.args.get("day"))
    if error:
        return render_template("printing/report.html", report=None, error=error, counts=COUNTS), 422
    report = printing.label_report(current_user._get_current_object(), day)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in report.rows:
        writer.writerow(
            [
                cell(v)
                for v in (
                    report.day.isoformat(),
                    report.zone,
                    row.subject,
                    row.template,
                    *(getattr(row, name) for name in COUNTS),
                    "; ".join(row.reasons),
                    " ".join(str(j) for j in row.jobs),
                )
            ]
        )
    name = f"labels-{report.day.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
