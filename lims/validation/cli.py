"""``flask --app wsgi validation report``: run the marked tests, the performance
qualification and the installation qualification; write ``report.html``, ``report.pdf``,
``report.json`` (and ``report.sha256``) and keep the report in the database for QA's signed
approval. Exit status 1 when the report is not clean (it is written and kept all the same).
"""

from __future__ import annotations

import getpass
import json
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (flask validation report)"


def register_cli(app: Flask, app_factory: Callable[..., Flask]) -> None:
    """``app_factory``: ``lims.create_app``, for the performance qualification's own app."""

    @app.cli.group("validation")
    def validation() -> None:
        """Validation reports: the installed system tested, qualified and signed by QA."""

    @validation.command("report")
    @click.option(
        "--results",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read this --validation-results file instead of running the marked tests.",
    )
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where to write the files (default build/validation/).",
    )
    @click.option("--skip-pq", is_flag=True, help="Leave out the performance qualification.")
    @click.option(
        "--workers",
        type=click.IntRange(0, 64),
        default=2,
        show_default=True,
        help="Test processes (pytest-xdist); 0: one process.",
    )
    @click.option(
        "--pq-database",
        metavar="URL",
        help="An empty database for the performance qualification (default: a temporary "
        "SQLite file).",
    )
    def report(
        results: Path | None,
        out: Path | None,
        skip_pq: bool,
        workers: int,
        pq_database: str | None,
    ) -> None:
        """Generate, write and keep a validation report."""
        from ..domain.errors import ServiceError
        from ..services.admin import accounts
        from ..services.audit import validation as stored
        from . import pq, run
        from . import report as reports
        from .pdf import render_pdf

        began = time.monotonic()

        def say(text: str) -> None:
            click.echo(f"[{time.monotonic() - began:6.1f} s] {text}")

        out = out or reports.DEFAULT_OUT
        try:
            if results is not None:
                say(f"Operational qualification: reading {results}")
                test_run = run.from_file(results)
                source = f"read from {results}"
            else:
                refused = run.clash(
                    str(app.config["SQLALCHEMY_DATABASE_URI"]), app.config.get("REDIS_URL"), workers
                )
                if refused:
                    raise click.ClickException(refused)
                say(
                    "Operational qualification: running the marked tests "
                    f"(pytest -m req{f' -n {workers}' if workers else ''}) …"
                )
                test_run = run.run_marked_tests(workers)
                source = f"run by this command (pytest exit {test_run.returncode})"
        except run.ResultsError as exc:
            raise click.ClickException(str(exc)) from None
        if results is None:  # kept at once: a later step that fails loses no test run
            out.mkdir(parents=True, exist_ok=True)
            kept_results = out / "results.json"
            kept_results.write_text(json.dumps(test_run.results, indent=1, sort_keys=True) + "\n")
            say(f"  results kept in {kept_results} (--results reads them again)")
        counts = test_run.results.get("counts", {})
        say("  " + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no test ran"))

        if skip_pq:
            say("Performance qualification: skipped (--skip-pq)")
            pq_outcome = None
        else:
            say("Performance qualification: one unit through the HTTP API on a scratch database …")
            pq_outcome = pq.run(app_factory, pq_database)
            say(f"  {pq_outcome['status']}: {len(pq_outcome['steps'])} requests")
            if pq_outcome.get("failure"):
                say(f"  {pq_outcome['failure']['message']}")

        say("Installation qualification: versions, database, Redis, configuration, ledger …")
        iq = reports.installation()
        say(
            f"  ledger {'intact' if iq['ledger']['intact'] else 'DOES NOT VERIFY'}, "
            f"{iq['ledger']['checked']} entries; {len(iq['packages'])} distributions"
        )

        say("Rendering the report (HTML, PDF) …")
        generated_at = datetime.now(UTC)
        generated_by = _who()
        data = reports.build(
            test_run.results,
            pq=pq_outcome,
            iq=iq,
            generated_at=generated_at,
            generated_by=generated_by,
            run={"source": source},
        )
        sha256 = reports.digest(data)
        html = reports.render_html(data, sha256)
        pdf = render_pdf(data, sha256, reports.local_time)
        written = reports.write(out, data, sha256, html, pdf)

        say("Keeping the report in the database …")
        try:
            kept = stored.record(
                data,
                html,
                pdf,
                generated_by=generated_by,
                actor=accounts.system_user(),
                generated_at=generated_at,
            )
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None

        summary = data["summary"]
        tests, reqs = summary["tests"], summary["requirements"]
        click.echo("")
        click.echo(f"Validation report {kept.id}: SHA-256 {sha256}")
        click.echo(
            f"  tests: {tests['passed']} passed, {tests['failed']} failed, {tests['error']} "
            f"errors, {tests['skipped']} skipped; requirements met {reqs['met']} of "
            f"{reqs['total']} ({reqs['claimed_not_met']} claimed not met); PQ {summary['pq']}"
        )
        for path in written:
            click.echo(f"  {path}")
        click.echo("  QA approves it under Audit → Validation (/audit/validation).")
        if not summary["clean"]:
            click.echo("NOT CLEAN: see the report's summary.", err=True)
            raise SystemExit(1)
