"""The emulator's own promises: the field data of a real label, modes, and its command line."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lims.labels import STOCKS, Code128, Label, render
from lims.printers import send
from lims.printers.emulator import ZplPrinterEmulator, fields

DIN_CODE = "=C00012600000560"
ROOT = Path(__file__).resolve().parents[2]


def test_a_rendered_label_sent_to_the_emulator_gives_back_its_barcode_data(emulator):
    label = Label(
        "source_tube",
        ("Adipose tissue", "Łucja Müller"),
        (Code128(DIN_CODE),),
        ("C0001 26 000005", "H"),
        datamatrix="=C0001260000056000",
    )
    zpl = render(label, STOCKS["tube"], "zpl")

    send("127.0.0.1", emulator.port, zpl)
    (job,) = emulator.wait_for_jobs(1)

    assert job == zpl
    received = fields(job)
    assert received.count(DIN_CODE) == 1
    assert "=C0001260000056000" in received
    assert "Łucja Müller" in received  # written as ^FH _XX escapes
    assert "Łucja Müller".encode() not in job


def test_fields_decode_a_chosen_hex_indicator_and_keep_plain_fields():
    zpl = b"^XA^FO0,0^FDplain^FS^FO0,9^FH#^FD50 #C2#B0C^FS^FDa_41^FS^XZ"

    assert fields(zpl) == ["plain", "50 °C", "a_41"]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be one of"):
        ZplPrinterEmulator(mode="jammed")


def test_waiting_for_jobs_that_do_not_come_returns_those_there_are(emulator):
    assert emulator.wait_for_jobs(1, timeout=0.1) == []


JOB = b"^XA^FDone^FS^FH^FDtwo_5F^FS^XZ"


def test_the_command_line_prints_a_line_per_job_until_interrupted():
    command = [sys.executable, "-m", "lims.printers.emulator", "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        listening = process.stdout.readline()
        port = int(listening.rsplit(":", 1)[1])
        send("127.0.0.1", port, JOB)
        printed = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()

    assert listening == f"emulator-{port} listening on 127.0.0.1:{port}\n"
    assert printed == f"emulator-{port}: {len(JOB)} bytes: one | two_\n"
    assert returncode == 0
