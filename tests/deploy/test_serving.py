"""How the app is served: gunicorn's access log names paths without query strings (searches
and scans carry patient names and MRNs), every way of serving uses that configuration, and
compose publishes plain HTTP on this host only, behind one reverse proxy."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PATIENT = ("Rita", "Ready", "MRN-SECRET-7")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {process.stdout.read()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def test_the_access_log_has_no_query_string_and_no_referrer(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "LIMS_ENV": "development",
        "LIMS_INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lims.sqlite3'}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/login?next=/units/%3Fq%3DRita%2BReady&mrn=MRN-SECRET-7",
            headers={"Referer": f"http://127.0.0.1:{port}/units/?q=Rita+Ready+MRN-SECRET-7"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=15)[0]
    (line,) = [row for row in output.splitlines() if '"GET /login' in row]
    assert '"GET /login HTTP/1.1" 200' in line
    assert not any(word in line for word in PATIENT), line
    assert "?" not in line


def test_every_way_of_serving_uses_that_configuration():
    makefile = (ROOT / "Makefile").read_text()
    (run,) = [row for row in makefile.splitlines() if "gunicorn" in row and "wsgi:app" in row]
    assert "--config gunicorn.conf.py" in run and "--access-logfile" not in run

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "gunicorn.conf.py ./" in dockerfile  # copied into the image
    assert '"--config=gunicorn.conf.py"' in dockerfile and "--access-logfile" not in dockerfile

    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    assert "--config=gunicorn.conf.py" in web["command"]
    assert not any("--access-logfile" in part for part in web["command"])


def test_compose_publishes_plain_http_on_this_host_only_behind_one_proxy():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert published == ["127.0.0.1:${WEB_PORT:-8000}:8000"]
    assert services["web"]["environment"]["PROXY_COUNT"] == "1"
    assert services["web"]["environment"]["LIMS_ENV"] == "production"  # the anchor still applies


def test_the_example_proxy_terminates_tls_and_sets_the_forwarded_headers():
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "listen 443 ssl;" in nginx and "return 301 https://" in nginx
    assert "proxy_pass http://127.0.0.1:8000;" in nginx
    assert "proxy_set_header X-Forwarded-For   $remote_addr;" in nginx  # set, not appended
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "$request_uri" not in nginx.split("log_format", 1)[1].split(";", 1)[0]
    assert "$args" not in nginx and "$query_string" not in nginx
    deploy_doc = (ROOT / "docs" / "deploy.md").read_text()
    assert "deploy/nginx.conf" in deploy_doc and "PROXY_COUNT=1" in deploy_doc


def test_the_apps_own_log_never_repeats_a_query(client, login, register, caplog):
    """Searches, scans and refused sign-ins: nothing the app logs names the patient."""
    register("ADIPOSE", mrn="MRN-SECRET-7", name="Rita Ready")
    caplog.set_level(logging.DEBUG)
    login("technician")
    for url in (
        "/units/?q=Rita+Ready",
        "/units/?q=MRN-SECRET-7&status=nonsense",
        "/scan?code=MRN-SECRET-7",
        "/audit/ledger?unit=Rita",
        "/patients/999999?name=Rita",
    ):
        client.get(url)
    client.post("/logout")
    client.post("/login?next=/units/%3Fq%3DRita", data={"username": "Rita", "password": "x"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(word in logged for word in PATIENT), logged[-2000:]


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_sight():
    """gunicorn's post_worker_init hook (decision 115): the app's long-lived objects are
    frozen, so a full collection no longer walks them on every busy request."""
    import gc
    import runpy

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    before = gc.get_freeze_count()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
