"""``flask --app wsgi`` commands: users, demo data, the ledger."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask

from .domain.instrument_files import FORMATS as QC_FILE_FORMATS
from .domain.roles import PEOPLE
from .models.location import LOCATION_KINDS


def register_cli(app: Flask) -> None:
    @app.cli.group()
    def users() -> None:
        """Manage user accounts."""

    @users.command("create")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice([r.value for r in PEOPLE]))
    @click.option("--name", "full_name", help="Printed name (defaults to the username).")
    @click.option("--email")
    @click.password_option(prompt="Password", help="Asked for when not given.")
    def create_user(
        username: str, role: str, full_name: str | None, email: str | None, password: str
    ) -> None:
        """Create USERNAME with ROLE; the password is asked for."""
        from .domain.errors import ServiceError
        from .services.admin import accounts

        try:
            user = accounts.create_user(username, role, password, full_name=full_name, email=email)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"created {user.username} ({user.role})")

    @app.cli.command("grant-app-role")
    @click.argument("role")
    def grant_app_role(role: str) -> None:
        """Give the application's PostgreSQL ROLE least privilege (ledger: SELECT, INSERT only).

        Run as the tables' owner after `db upgrade`; the app then connects as ROLE.
        """
        from .domain.errors import ServiceError
        from .services.admin.database_roles import grant_application_role

        try:
            statements = grant_application_role(role)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
        for statement in statements:
            click.echo(statement)

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load demo users, patients and units (only into an empty database)."""
        from .seed import seed_demo as run

        created = run()
        click.echo("demo data loaded" if created else "database is not empty; nothing seeded")

    @app.cli.group()
    def locations() -> None:
        """Manage storage locations."""

    @locations.command("create")
    @click.argument("name")
    @click.option("--kind", required=True, type=click.Choice(LOCATION_KINDS))
    @click.option("--parent", help="The parent location's code.")
    @click.option("--rows", type=int, help="A box's grid: rows (lettered A…).")
    @click.option("--columns", type=int, help="A box's grid: columns (numbered 1…).")
    @click.option("--as", "admin", default="admin", show_default=True, help="An admin username.")
    def create_location(
        name: str,
        kind: str,
        parent: str | None,
        rows: int | None,
        columns: int | None,
        admin: str,
    ) -> None:
        """Create a location NAME; prints its new code (for its label).

        A box with --rows and --columns gets a scannable position per cell.
        """
        from sqlalchemy import select

        from .domain.errors import ServiceError
        from .extensions import db
        from .models import User
        from .services.admin import locations as location_service

        actor = db.session.scalar(select(User).where(User.username == admin))
        if actor is None:
            raise click.ClickException(f"no user {admin!r}")
        try:
            place = location_service.create_location(
                name, kind, parent, actor, rows=rows, columns=columns
            )
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"{place.code} {place.path}")

    @app.cli.group("units")
    def units_group() -> None:
        """Scheduled work on units."""

    @units_group.command("expire-due")
    def expire_due() -> None:
        """Move every unit past its expiry to expired (safe to run again)."""
        from .services.actions import expiry

        run = expiry.expire_due()
        click.echo(f"expired {len(run.expired)} unit(s)")
        for unit_id, why in run.skipped:
            click.echo(f"skipped unit {unit_id}: {why}", err=True)

    @app.cli.group()
    def ledger() -> None:
        """Check the custody ledger."""

    @ledger.command("verify")
    @click.option("--receipt", type=click.File(), help="A head receipt (JSON) kept outside.")
    @click.option(
        "--from-receipt",
        "from_receipt",
        is_flag=True,
        help="Quick: recompute only the entries after the last receipt a full, intact "
        "verification covered (in full when there is none).",
    )
    def verify(receipt, from_receipt: bool) -> None:
        """Recompute the hash chain; exit non-zero naming the first bad entry."""
        from .domain.errors import Conflict
        from .services.custody import ledger as ledger_service
        from .services.custody import quick_check

        quick = None
        if from_receipt:
            try:
                quick = quick_check.check(limit=None)
            except Conflict as exc:
                click.echo(f"{exc.message} Verifying the whole ledger instead.", err=True)
        result = quick.result if quick else ledger_service.verify()
        problem = str(result.first_break) if result.first_break else None
        if problem is None and receipt is not None:
            try:
                payload = json.load(receipt)
            except ValueError:
                payload = {}
            problem = ledger_service.check_receipt(payload, result)
        if problem:
            good = f"{result.checked} good entries" + (
                f" after receipt #{quick.anchor.seq}" if quick else ""
            )
            click.echo(f"LEDGER BROKEN after {good} — {problem}", err=True)
            sys.exit(1)
        if quick:
            click.echo(f"ledger intact from receipt #{quick.anchor.seq}: {quick.coverage}")
            return
        click.echo(f"ledger intact: {result.checked} entries verified, head #{result.last_seq}")

    @ledger.command("receipt")
    def receipt() -> None:
        """Sign the current head; keep the printed JSON outside the database."""
        from .services.custody import ledger as ledger_service

        click.echo(json.dumps(ledger_service.issue_receipt()))

    @app.cli.group("import")
    def import_group() -> None:
        """Import what the lab already has from a CSV or XLSX file (docs/import.md)."""

    def _import_command(kind: str) -> None:
        @import_group.command(kind, help=f"Import {kind} from FILE (CSV or XLSX); all or nothing.")
        @click.argument("file", type=click.Path(exists=True, dir_okay=False))
        @click.option("--dry-run", is_flag=True, help="Judge every row; write nothing.")
        @click.option("--user", "username", help="The administrator it is recorded as.")
        def command(file: str, dry_run: bool, username: str | None) -> None:
            from pathlib import Path

            from .domain.errors import ServiceError
            from .services.admin import accounts
            from .services.station import data_import

            path = Path(file)
            data = data_import.Upload(path.read_bytes(), path.name, kind)
            try:
                user = data_import.importer(username) if username else accounts.system_user()
                imp = data_import.import_file(data, user, dry_run=dry_run)
            except ServiceError as exc:
                fields = "; ".join(f"{k}: {v}" for k, v in exc.fields.items() if v != exc.message)
                raise click.ClickException(
                    f"{exc.message}{f' ({fields})' if fields else ''}"
                ) from None
            summary = data_import.summary(imp)
            refused = data_import.refused_rows(imp)
            for row in refused:
                for column, why in row["problems"].items():
                    click.echo(f"refused: row {row['row']}, {column}: {why}", err=True)
            counts = summary.counts
            tally = (
                f"{counts['created']} created, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged, {len(refused)} refused"
            )
            if imp.status == data_import.FAILED:
                click.echo(f"import {imp.id}: {summary.words}", err=True)
                sys.exit(1)
            if dry_run or refused:
                click.echo(
                    f"import {imp.id} (dry run{'' if dry_run else ', refused'}): {tally}; nothing written"
                )
            else:
                click.echo(f"import {imp.id}: {tally} (file SHA-256 {imp.sha256})")
            if refused:
                sys.exit(1)

    for kind in ("patients", "units", "locations", "users"):
        _import_command(kind)

    @app.cli.command("import-qc")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--format",
        "file_format",
        required=True,
        type=click.Choice(list(QC_FILE_FORMATS)),
    )
    @click.option("--instrument", required=True, help="The instrument's equipment code (E…).")
    @click.option("--user", "username", required=True, help="Who records the results.")
    @click.option("--lot", help="The kit lot (else as the file's header names it).")
    @click.option("--mapping", type=click.File(), help="generic: the column mapping (JSON).")
    @click.option("--dry-run", is_flag=True, help="Preview only: record nothing.")
    def import_qc(
        file: str,
        file_format: str,
        instrument: str,
        username: str,
        lot: str | None,
        mapping,
        dry_run: bool,
    ) -> None:
        """Import an instrument's result FILE (a watch folder's job); exit 1 when rows are
        refused, naming each."""
        from pathlib import Path

        from .domain.errors import ServiceError
        from .services.station import qc_import

        path = Path(file)
        data = qc_import.Upload(
            path.read_bytes(),
            path.name,
            file_format,
            instrument,
            lot or "",
            mapping.read() if mapping else None,
        )
        try:
            user = qc_import.importer(username)
            imp = qc_import.import_file(data, user, dry_run=dry_run)
        except ServiceError as exc:
            fields = "; ".join(f"{k}: {v}" for k, v in exc.fields.items() if v != exc.message)
            raise click.ClickException(f"{exc.message}{f' ({fields})' if fields else ''}") from None
        summary = qc_import.summary(imp)
        refused = list(qc_import.refused_rows(imp))
        for row in refused:
            test = row["test_name"] or "row"
            click.echo(
                f"refused: line {row['line']} {row['sample']!r} {test}: {row['why']}", err=True
            )
        counts = summary.counts
        if dry_run:
            click.echo(
                f"import {imp.id} previewed (dry run): {counts['ready']} ready, "
                f"{len(refused)} refused, {counts['skipped']} skipped; nothing recorded"
            )
        else:
            click.echo(
                f"import {imp.id}: {counts['imported']} results recorded, {len(refused)} "
                f"refused, {counts['skipped']} skipped (file SHA-256 {imp.sha256})"
            )
        if refused:
            sys.exit(1)
