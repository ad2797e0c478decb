"""Queueing a PDF with CUPS's lp: a fake lp script stands in for CUPS (a real subprocess)."""

from __future__ import annotations

import pytest

from lims.printers import PrinterError, send_pdf

PDF = b"%PDF-1.7\n% a label\n%%EOF\n"


def fake_lp(tmp_path, body: str) -> str:
    script = tmp_path / "lp"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_the_pdf_goes_to_lp_on_stdin_and_the_job_id_comes_back(tmp_path):
    lp = fake_lp(
        tmp_path,
        f'printf "%s\\n" "$@" > {tmp_path}/args\n'
        f"cat > {tmp_path}/stdin\n"
        'echo "request id is q-7 (1 file(s))"',
    )

    job = send_pdf("q", PDF, copies=2, lp=lp, title="C0001 26 000005 H")

    assert job == "q-7"
    assert (tmp_path / "stdin").read_bytes() == PDF
    assert (tmp_path / "args").read_text().splitlines() == [
        "-d",
        "q",
        "-n",
        "2",
        "-t",
        "C0001 26 000005 H",
        "-",
    ]


def test_lps_complaint_reaches_the_technician(tmp_path):
    lp = fake_lp(tmp_path, 'echo "lp: The printer or class does not exist." >&2\nexit 1')

    with pytest.raises(PrinterError) as failed:
        send_pdf("tube-9", PDF, lp=lp)

    assert failed.value.code == "cups_error"
    assert failed.value.message == (
        "CUPS did not take the job for queue tube-9: lp: The printer or class does not exist."
    )


def test_an_lp_that_does_not_finish_in_time_is_a_failure(tmp_path):
    lp = fake_lp(tmp_path, "exec sleep 5")

    with pytest.raises(PrinterError) as failed:
        send_pdf("q", PDF, timeout=0.3, lp=lp)

    assert failed.value.code == "cups_error"
    assert "within 0.3 s" in failed.value.message


def test_a_server_without_lp_says_so(tmp_path):
    with pytest.raises(PrinterError) as failed:
        send_pdf("q", PDF, lp=str(tmp_path / "no-such-lp"))

    assert failed.value.code == "cups_error"
    assert failed.value.message == "CUPS's lp command is not installed on this server"
