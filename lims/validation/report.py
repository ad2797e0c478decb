"""The validation report: its data (one dict, hashed as canonical JSON), rendered as HTML
(``templates/validation/report.html``, self-contained) and PDF (``pdf.py``), written to a
directory and kept in the database.

The data holds:

- **version**: ``git describe`` and the commit when the checkout is a git repository, else
  the words "unknown";
- **matrix**: each requirement, its marked tests and what they did in this run (``matrix``);
- **oq** (operational qualification): every marked test with its outcome and message, and
  how the run was made;
- **iq** (installation qualification): Python, every installed distribution with its
  version, the database and Redis servers, the migration applied and the newest one, the
  configuration with secrets masked, the ledger verified and its head receipt;
- **pq** (performance qualification): the scripted run of ``pq.py``, or why it did not run.

The digest is the SHA-256 of ``canonical_json(data)``; ``report.json`` is exactly those
bytes, so ``sha256sum report.json`` prints the digest the HTML and PDF carry.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from ..domain.ledger_chain import canonical_json, utc_iso
from ..services.admin.site_settings import HIDDEN, NOT_SET, safe_url
from ..services.audit import validation as stored
from . import matrix
from .run import ROOT

FORMAT = "lims-validation-report/1"
SECRET_WORDS = ("SECRET", "PASSWORD", "KEY", "TOKEN")
DEFAULT_OUT = ROOT / "build" / "validation"


# ---------------------------------------------------------------------------- version


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def version() -> dict[str, Any]:
    """What is validated: the checkout's commit (and whether files differ from it)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"describe": "unknown", "commit": None, "dirty": None, "source": "no git"}
    describe = _git("describe", "--tags", "--always", "--dirty") or commit[:12]
    return {
        "describe": describe,
        "commit": commit,
        "dirty": describe.endswith("-dirty"),
        "source": "git",
    }


# ---------------------------------------------------------------------------- IQ


def _secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def _is_address(value: str) -> bool:
    try:
        return "://" in value and bool(urlsplit(value).netloc)
    except ValueError:
        return True  # shown as "not a readable URL", never as it is


def masked(name: str, value: Any) -> Any:
    """A setting as the report may show it: secrets only as set or not, URLs without their
    password or query, containers item by item."""
    if _secret(name):
        return HIDDEN if value else NOT_SET
    if isinstance(value, Mapping):
        return {
            str(k): masked(str(k), v) for k, v in sorted(value.items(), key=lambda i: str(i[0]))
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [masked(name, v) for v in items]
    if isinstance(value, str):
        return safe_url(value) if _is_address(value) else value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g} s"
    return str(value)


def configuration(config: Mapping[str, Any]) -> dict[str, Any]:
    return {name: masked(name, config[name]) for name in sorted(config) if name.isupper()}


def packages() -> list[dict[str, str]]:
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name, dist.version)
    return [{"name": n, "version": found[n]} for n in sorted(found, key=str.lower)]


def redis_facts(url: str | None) -> dict[str, Any]:
    if not url:
        return {"configured": False, "server_version": "not configured"}
    import redis

    facts: dict[str, Any] = {"configured": True, "url": safe_url(url)}
    conn = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        info = conn.info("server")
        facts["server_version"] = str(info.get("redis_version"))
        facts["mode"] = str(info.get("redis_mode", ""))
    except redis.RedisError as exc:
        facts["server_version"] = f"unreachable: {exc}"
    finally:
        conn.close()
    return facts


def migration_heads() -> list[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return sorted(ScriptDirectory.from_config(cfg).get_heads())


def installation() -> dict[str, Any]:
    config = current_app.config
    database = stored.database_facts()
    heads = migration_heads()
    database["migration_head"] = heads
    database["migration_current"] = sorted(database["migration_applied"]) == heads
    return {
        "python": {
            "version": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "build": " ".join(platform.python_build()),
            "executable": sys.executable,
            "platform": platform.platform(),
        },
        "packages": packages(),
        "database": database,
        "redis": redis_facts(config.get("REDIS_URL")),
        "configuration": configuration(config),
        "ledger": stored.ledger_facts(),
    }


# ---------------------------------------------------------------------------- the data


def _requirements() -> list[Any]:
    from ..domain.requirements import REQUIREMENTS

    return list(REQUIREMENTS)


def build(
    results: Mapping[str, Any],
    *,
    pq: Mapping[str, Any] | None,
    iq: Mapping[str, Any],
    generated_at: datetime,
    generated_by: str,
    run: Mapping[str, Any] | None = None,
    requirements: list[Any] | None = None,
) -> dict[str, Any]:
    """The report's data from a test run's results, the PQ's outcome and the IQ."""
    rows = matrix.oq_rows(results)
    traced = matrix.build(_requirements() if requirements is None else requirements, rows)
    tests = matrix.counts(rows)
    pq_data = dict(pq) if pq is not None else {"status": "not run", "reason": "skipped (--skip-pq)"}
    config = current_app.config
    clean = (
        tests["failed"] == 0
        and tests["error"] == 0
        and traced["summary"]["claimed_not_met"] == 0
        and pq_data.get("status") == "passed"
        and bool(iq.get("ledger", {}).get("intact"))
    )
    return {
        "format": FORMAT,
        "title": "Validation report",
        "facility": {"name": config.get("FACILITY_NAME"), "code": config.get("FACILITY_CODE")},
        "generated_at": utc_iso(generated_at),
        "generated_by": generated_by,
        "version": version(),
        "summary": {
            "tests": tests,
            "requirements": traced["summary"],
            "pq": pq_data.get("status"),
            "ledger_intact": bool(iq.get("ledger", {}).get("intact")),
            "clean": clean,
        },
        "matrix": traced["rows"],
        "unknown_ids": traced["unknown_ids"],
        "oq": {
            "run": {
                "started_at": results.get("started_at"),
                "finished_at": results.get("finished_at"),
                "args": results.get("args", []),
                "python": results.get("python"),
                "pytest": results.get("pytest"),
                "exit_status": results.get("exit_status"),
                **dict(run or {}),
            },
            "tests": rows,
        },
        "iq": dict(iq),
        "pq": pq_data,
    }


def digest(data: Mapping[str, Any]) -> str:
    return stored.digest(canonical_json(dict(data)))


def render_html(data: Mapping[str, Any], sha256: str) -> str:
    """The report as one HTML file: inline CSS, no script, nothing fetched."""
    from ..timefmt import site_zone

    template = current_app.jinja_env.get_template("validation/report.html")
    return template.render(
        data=data, sha256=sha256, zone=str(site_zone()), local=local_time, outcome_class=_cls
    )


def local_time(iso: str | None) -> str:
    from ..timefmt import local_time

    if not iso:
        return "—"
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return local_time(moment, "%Y-%m-%d %H:%M:%S")


def _cls(outcome: str | None) -> str:
    return {
        "passed": "ok",
        "met": "ok",
        "failed": "bad",
        "error": "bad",
        "not met": "bad",
        "skipped": "warn",
        "xfailed": "warn",
        "xpassed": "warn",
        "not run": "warn",
    }.get(outcome or "", "")


def write(out: Path, data: Mapping[str, Any], sha256: str, html: str, pdf: bytes) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report.json": canonical_json(dict(data)).encode("ascii"),
        "report.html": html.encode("utf-8"),
        "report.pdf": pdf,
        "report.sha256": f"{sha256}  report.json\n".encode("ascii"),
    }
    written = []
    for name, body in files.items():
        path = out / name
        path.write_bytes(body)
        written.append(path)
    return written
