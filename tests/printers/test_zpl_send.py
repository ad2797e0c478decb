"""Sending ZPL over raw TCP to the emulator: what arrives, and what the technician is told
when the printer is off, hung, paused or out of paper."""

from __future__ import annotations

import errno
import socket
import time

import pytest

from lims.printers import HostStatus, PrinterError, host_status, parse_host_status, send
from lims.printers.zpl import host_status_reply

HOST = "127.0.0.1"
LABEL = b"^XA\n^CI28\n^FO20,20^BCN,80,N,N,N,A^FD=C00012600000560^FS\n^PQ2\n^XZ\n"


def test_a_job_arrives_byte_for_byte(emulator):
    status = send(HOST, emulator.port, LABEL, name="tube-1")

    assert status == HostStatus()
    assert emulator.wait_for_jobs(1) == [LABEL]


def test_without_the_status_check_only_the_job_connects(emulator):
    assert send(HOST, emulator.port, LABEL, check_status=False) is None

    assert emulator.wait_for_jobs(1) == [LABEL]
    assert emulator.connections == 1


def test_a_ready_printer_reports_no_problem(emulator):
    status = host_status(HOST, emulator.port)

    assert status == HostStatus()
    assert status.problem is None
    assert emulator.jobs == []


# The ~HS layout of the ZPL II Programming Guide: string 1 fields 1 and 2 are paper out and
# pause, string 2 fields 2 and 3 head up and ribbon out.
def test_the_host_status_flags_are_read_from_their_fields():
    reply = (
        b"\x02030,1,1,0406,000,0,0,0,000,0,0,0\x03\r\n"
        b"\x02001,0,1,1,1,2,6,0,00000000,1,000\x03\r\n"
        b"\x021234,0\x03\r\n"
    )

    status = parse_host_status(reply)

    assert status == HostStatus(paper_out=True, paused=True, head_open=True, ribbon_out=True)
    assert status.problems == ("paper_out", "head_open", "ribbon_out", "paused")
    assert status.problem == "paper out, head open, ribbon out, paused"


@pytest.mark.parametrize("flag", ["paper_out", "paused", "head_open", "ribbon_out"])
def test_the_emulators_reply_reads_back_as_the_same_status(flag):
    status = HostStatus(**{flag: True})

    assert parse_host_status(host_status_reply(status)) == status


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 400 Bad Request\r\n", b"\x02030,x,0\x03\r\n"])
def test_a_reply_that_is_not_a_host_status_is_refused(reply):
    with pytest.raises(ValueError):
        parse_host_status(reply)


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("paper_out", "paper out"),
        ("paused", "paused"),
        ("head_open", "head open"),
        ("ribbon_out", "ribbon out"),
    ],
)
def test_a_printer_that_cannot_print_is_named_and_sent_nothing(emulator, mode, words):
    emulator.mode = mode

    with pytest.raises(PrinterError) as refused:
        send(HOST, emulator.port, LABEL, name="tube-1")

    assert refused.value.code == mode
    assert refused.value.message == f"printer tube-1 at {HOST}:{emulator.port} reports: {words}"
    assert emulator.connections == 1  # the ~HS question only
    assert emulator.jobs == []


def test_a_printer_that_closes_the_connection_is_refused(emulator):
    emulator.mode = "refuse"

    with pytest.raises(PrinterError) as refused:
        send(HOST, emulator.port, LABEL, name="tube-1")

    assert refused.value.code == "refused"
    assert refused.value.message.startswith(f"printer tube-1 at {HOST}:{emulator.port} closed")
    assert emulator.jobs == []


def test_a_stopped_printer_refuses_the_connection(emulator):
    emulator.stop()

    with pytest.raises(PrinterError) as refused:
        send(HOST, emulator.port, LABEL, name="tube-1")

    assert refused.value.code == "refused"
    assert refused.value.message == (
        f"printer tube-1 at {HOST}:{emulator.port} refused the connection: "
        "is it switched on and on the network?"
    )


def test_a_hung_printer_times_out_within_the_timeout(emulator):
    emulator.mode = "hang"
    started = time.monotonic()

    with pytest.raises(PrinterError) as timed_out:
        send(HOST, emulator.port, LABEL, timeout=0.5, name="tube-1")

    assert time.monotonic() - started < 1.0
    assert timed_out.value.code == "timeout"
    assert "did not answer within 0.5 s" in timed_out.value.message
    assert emulator.jobs == []


def test_a_printer_that_cannot_be_reached_says_so(monkeypatch):
    def unreachable(address, timeout):
        raise OSError(errno.EHOSTUNREACH, "No route to host")

    monkeypatch.setattr(socket, "create_connection", unreachable)

    with pytest.raises(PrinterError) as failed:
        send("10.0.0.5", 9100, LABEL, name="tube-1")

    assert failed.value.code == "unreachable"
    assert failed.value.message == (
        "printer tube-1 at 10.0.0.5:9100 cannot be reached (No route to host): "
        "is it switched on and on the network?"
    )


def test_a_connection_that_is_not_taken_in_time_times_out(monkeypatch):
    def silent(address, timeout):
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", silent)

    with pytest.raises(PrinterError) as failed:
        host_status("10.0.0.5", 9100, timeout=5, name="tube-1")

    assert failed.value.code == "timeout"
    assert failed.value.message == (
        "printer tube-1 at 10.0.0.5:9100 did not answer within 5 s: "
        "is it switched on and on the network?"
    )
