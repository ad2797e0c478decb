"""The validation report as generated: the installation qualification (packages, database,
migration, ledger, configuration with its secrets masked in JSON, HTML and PDF alike), the
digest that recomputes from ``report.json``, the command that writes and keeps it, and the
marked tests run in a pytest of their own."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from lims.domain.ledger_chain import canonical_json
from lims.extensions import db
from lims.models import LedgerEntry, ValidationReport
from lims.validation import report as reports
from lims.validation import run
from lims.validation.pdf import render_pdf

MAIL_SECRET = "mail-pw-Zq8sV1x"
HOOK_SECRET = "hook-secret-Lk2pQ9"
URL_PASSWORD = "url-pw-Hy6tR3"
URL_TOKEN = "tok-Ww4eE1"
SECRETS = (MAIL_SECRET, HOOK_SECRET, URL_PASSWORD, URL_TOKEN, "test-secret-key", "test-ledger-key")


def results(*tests: dict) -> dict:
    return {
        "format": run.FORMAT,
        "started_at": "2026-12-01T08:00:00.000000Z",
        "finished_at": "2026-12-01T08:03:00.000000Z",
        "args": ["-m", "req", "-n", "2"],
        "python": "3.11.7",
        "pytest": "9.2.0",
        "exit_status": 1,
        "counts": {},
        "collection_errors": [],
        "tests": list(tests),
    }


def a_test(name: str, outcome: str, message: str = "", req: str = "A11-3") -> dict:
    return {
        "nodeid": f"tests/x.py::{name}",
        "requirements": [req],
        "outcome": outcome,
        "duration": 0.25,
        "message": message,
    }


RESULTS = results(
    a_test("test_works", "passed"),
    a_test("test_breaks", "failed", "AssertionError: deliberately failing <b>"),
    a_test("test_waits", "skipped", "PostgreSQL not available"),
)
PQ = {"status": "failed", "failure": {"step": None, "message": "set-up broke"}, "steps": []}


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return "".join(page.get_textpage().get_text_range() for page in document)


@pytest.fixture
def app_config():
    return {
        "MAIL_SERVER": "smtp.example.org",
        "MAIL_PASSWORD": MAIL_SECRET,
        "WEBHOOK_URL": f"https://hooks:{URL_PASSWORD}@hooks.example.org/in?token={URL_TOKEN}",
        "WEBHOOK_SECRET": HOOK_SECRET,
    }


@pytest.fixture
def generated(app, users):
    iq = reports.installation()
    data = reports.build(
        RESULTS,
        pq=PQ,
        iq=iq,
        generated_at=datetime(2026, 12, 1, 8, 5, tzinfo=UTC),
        generated_by="tests",
    )
    sha256 = reports.digest(data)
    html = reports.render_html(data, sha256)
    pdf = render_pdf(data, sha256, reports.local_time)
    return data, sha256, html, pdf


def test_the_installation_qualification_names_what_is_installed(generated, backend):
    data, _, html, pdf = generated
    iq = data["iq"]
    names = {p["name"].lower(): p["version"] for p in iq["packages"]}
    assert {"flask", "sqlalchemy", "reportlab", "pytest", "alembic"} <= set(names)
    assert iq["python"]["version"].count(".") == 2
    database = iq["database"]
    assert database["dialect"] == backend
    assert database["server_version"][0].isdigit() or database["server_version"].startswith(
        "PostgreSQL"
    )
    assert database["migration_current"] is True
    assert database["migration_applied"] == database["migration_head"] != []
    assert iq["redis"] == {"configured": False, "server_version": "not configured"}
    assert iq["ledger"]["intact"] is True
    text = pdf_text(pdf)
    for name in ("Flask", "reportlab", database["server_version"][:10]):
        assert name in html and name in text


def test_secrets_are_masked_in_json_html_and_pdf(generated):
    data, _, html, pdf = generated
    config = data["iq"]["configuration"]
    assert config["MAIL_PASSWORD"] == config["WEBHOOK_SECRET"] == "set (not shown)"
    assert config["SECRET_KEY"] == config["LEDGER_KEY"] == "set (not shown)"
    assert config["WEBHOOK_URL"] == "https://hooks:•••@hooks.example.org/in?•••"
    assert config["MAIL_SERVER"] == "smtp.example.org"  # not a secret: shown
    as_json, text = canonical_json(data), pdf_text(pdf)
    for secret in SECRETS:
        assert secret not in as_json and secret not in html and secret not in text, secret


@pytest.mark.req("A11-3")
def test_the_report_is_honest_and_its_digest_recomputes(generated, tmp_path):
    data, sha256, html, pdf = generated
    summary = data["summary"]
    assert summary["clean"] is False
    assert summary["tests"]["failed"] == 1 and summary["tests"]["skipped"] == 1
    (row,) = [r for r in data["matrix"] if r["id"] == "A11-3"]
    assert row["status"] == "not met" and row["why"] == "1 of 3 test(s) failed or broke"
    assert "NOT CLEAN" in html
    assert "AssertionError: deliberately failing &lt;b&gt;" in html  # escaped, never markup
    assert 'data-test="tests/x.py::test_waits" data-outcome="skipped"' in html
    assert "PostgreSQL not available" in html
    assert "set-up broke" in html and "set-up broke" in pdf_text(pdf)

    files = reports.write(tmp_path, data, sha256, html, pdf)
    assert [f.name for f in files] == ["report.json", "report.html", "report.pdf", "report.sha256"]
    body = (tmp_path / "report.json").read_bytes()
    assert hashlib.sha256(body).hexdigest() == sha256
    assert json.loads(body) == json.loads(canonical_json(data))
    assert (tmp_path / "report.sha256").read_text() == f"{sha256}  report.json\n"
    assert f'<span class="hash" data-sha256>{sha256}</span>' in html
    assert sha256 in pdf_text(pdf).replace("\r", "").replace("\n", "")
    for fetches in ("<script", "<link", "src=", "url("):  # self-contained: nothing fetched
        assert fetches not in html


@pytest.mark.req("A11-3")
def test_the_command_writes_the_files_and_keeps_the_report(runner, users, tmp_path):
    given = tmp_path / "results.json"
    given.write_text(json.dumps(results(a_test("test_works", "passed"))))
    out = tmp_path / "out"
    done = runner.invoke(
        args=["validation", "report", "--results", str(given), "--skip-pq", "--out", str(out)]
    )
    assert done.exit_code == 1, done.output  # the PQ did not run: not clean, said so
    assert "Operational qualification: reading" in done.output
    assert "Performance qualification: skipped (--skip-pq)" in done.output
    assert "Installation qualification" in done.output
    assert "NOT CLEAN" in done.output
    kept = db.session.scalars(select(ValidationReport)).one()
    assert f"Validation report {kept.id}: SHA-256 {kept.sha256}" in done.output
    assert hashlib.sha256((out / "report.json").read_bytes()).hexdigest() == kept.sha256
    assert (out / "report.html").read_text() == kept.html
    assert (out / "report.pdf").read_bytes() == kept.pdf
    (entry,) = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "validation_report_recorded")
    )
    assert entry.actor_role == "system" and json.loads(entry.data)["sha256"] == kept.sha256
    data = json.loads(kept.content)
    assert data["pq"]["status"] == "not run"
    assert data["oq"]["run"]["source"] == f"read from {given}"


def test_the_command_refuses_a_file_it_did_not_write(runner, users, tmp_path):
    given = tmp_path / "results.json"
    given.write_text('{"tests": []}')
    done = runner.invoke(args=["validation", "report", "--results", str(given), "--skip-pq"])
    assert done.exit_code == 1
    assert "was not written by --validation-results" in done.output
    assert db.session.scalars(select(ValidationReport)).first() is None


def test_redis_is_named_with_its_version(redis_url):
    facts = reports.redis_facts(redis_url)
    assert facts["configured"] is True and facts["server_version"][0].isdigit()
    bad = reports.redis_facts("redis://127.0.0.1:1/0")
    assert bad["server_version"].startswith("unreachable")


@pytest.mark.req("A11-3")
def test_the_marked_tests_run_in_a_pytest_of_their_own():
    """The command's own test run, narrowed to one quick marked test of this directory."""
    done = run.run_marked_tests(
        workers=0, extra=["tests/validation/test_matrix.py", "-k", "passing_marked"]
    )
    assert done.returncode == 0, done.output_tail
    (test,) = done.results["tests"]
    assert test["nodeid"].endswith("test_a_passing_marked_test_meets_its_requirement")
    assert (test["outcome"], test["requirements"]) == ("passed", ["A11-3"])
    assert done.command[1:5] == ["-m", "pytest", "-m", "req"]


@pytest.mark.parametrize(
    ("test_db", "test_redis", "app_db", "app_redis", "refused"),
    [
        (
            "postgresql://u@db:5432/lims",
            None,
            "postgresql+psycopg://u:pw@db/lims",
            None,
            "database",
        ),
        ("postgresql://u@db/test", None, "postgresql+psycopg://u@db/test_gw1", None, "database"),
        ("postgresql://u@db/test", None, "postgresql+psycopg://u@db/lims", None, None),
        ("sqlite:////tmp/x.db", None, "sqlite:////tmp/x.db", None, "database"),
        (None, "redis://r:6379/15", "sqlite://", "redis://r:6379/14", "Redis"),
        (None, "redis://r:6379/15", "sqlite://", "redis://r:6379", None),
        (None, "redis://r:6379", "sqlite://", "redis://r/15", "Redis"),
    ],
)
def test_the_tests_never_run_on_the_installations_own_data(
    monkeypatch, test_db, test_redis, app_db, app_redis, refused
):
    for name, value in (("LIMS_TEST_DATABASE_URL", test_db), ("LIMS_TEST_REDIS_URL", test_redis)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    found = run.clash(app_db, app_redis, workers=2)
    assert (found is None) if refused is None else (refused in found)
