"""Sending ZPL to a network label printer over raw TCP (port 9100), after asking whether it can print.

A Zebra printer prints whatever arrives on its raw port and never says whether it did. A paused
printer, or one out of paper, keeps the job and prints it when someone fixes it, perhaps hours
later and next to another unit's labels. So ``send`` asks for the host status (``~HS``) first
and refuses to send to a printer that reports a problem: the technician learns why at once.

No step waits longer than the timeout, except the name lookup of a printer given by name
(give printers fixed addresses). Every failure is a ``PrinterError``.
"""

from __future__ import annotations

import errno
import re
import socket
import time
from dataclasses import dataclass

PORT = 9100
HS = b"~HS"
STX = b"\x02"
ETX = b"\x03"

# The ~HS reply (ZPL II Programming Guide, "~HS Host Status Return"): three strings, each
# <STX>fields<ETX><CR><LF>, fields separated by commas, counted here from 0.
#   string 1  aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
#             0 interface settings, 1 paper out, 2 pause, 3 label length (dots),
#             4 formats in the receive buffer, 5 buffer full, 6 diagnostic mode,
#             7 partial format, 8 unused (000), 9 corrupt RAM, 10 under, 11 over temperature
#   string 2  mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www
#             0 function settings, 1 unused, 2 head up, 3 ribbon out, 4 thermal transfer,
#             5 print mode, 6 print width mode, 7 label waiting, 8 labels remaining in batch,
#             9 format while printing (always 1), 10 graphics stored
#   string 3  xxxx,y
#             0 password, 1 static RAM installed
# A flag is 1 when set. Newer firmware gives no reply at all while the media or ribbon is out
# or the head open: a printer that takes the connection but does not answer ~HS is stopped.
PAPER_OUT = (0, 1)
PAUSED = (0, 2)
HEAD_UP = (1, 2)
RIBBON_OUT = (1, 3)

_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


class PrinterError(Exception):
    """The printer cannot take the job. ``message`` is for the technician; ``code`` is one of
    refused, timeout, unreachable, paper_out, paused, head_open, ribbon_out, bad_status,
    cups_error."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class HostStatus:
    """The flags of a ``~HS`` reply that stop a printer from printing."""

    paper_out: bool = False
    paused: bool = False
    head_open: bool = False
    ribbon_out: bool = False

    @property
    def problems(self) -> tuple[str, ...]:
        """The codes of what is wrong, the most likely cause first ("paper_out", …)."""
        order = ("paper_out", "head_open", "ribbon_out", "paused")
        return tuple(code for code in order if getattr(self, code))

    @property
    def problem(self) -> str | None:
        """What is wrong in the technician's words ("paper out, paused"), or None."""
        return ", ".join(code.replace("_", " ") for code in self.problems) or None


def parse_host_status(reply: bytes) -> HostStatus:
    """The flags of a ``~HS`` reply; ValueError when it is not one."""
    strings = [s.split(b",") for s in re.findall(rb"\x02([^\x02\x03]*)\x03", reply)]
    if len(strings) < 2 or len(strings[0]) < 3 or len(strings[1]) < 4:
        raise ValueError(f"not a host status reply: {reply[:80]!r}")

    def flag(at: tuple[int, int]) -> bool:
        value = strings[at[0]][at[1]].strip()
        if value not in (b"0", b"1"):
            raise ValueError(f"not a host status flag: {value!r}")
        return value == b"1"

    return HostStatus(
        paper_out=flag(PAPER_OUT),
        paused=flag(PAUSED),
        head_open=flag(HEAD_UP),
        ribbon_out=flag(RIBBON_OUT),
    )


def host_status_reply(status: HostStatus) -> bytes:
    """The ``~HS`` reply a printer in ``status`` sends (a 2" label at 203 dpi, thermal transfer)."""

    def bit(value: bool) -> str:
        return "1" if value else "0"

    strings = (
        f"030,{bit(status.paper_out)},{bit(status.paused)},0406,000,0,0,0,000,0,0,0",
        f"001,0,{bit(status.head_open)},{bit(status.ribbon_out)},1,2,6,0,00000000,1,000",
        "1234,0",
    )
    return b"".join(STX + s.encode() + ETX + b"\r\n" for s in strings)


def host_status(
    host: str, port: int = PORT, timeout: float = 5.0, *, name: str | None = None
) -> HostStatus:
    """Ask the printer for its host status (``~HS``); PrinterError when it cannot be asked."""
    return _ask_status(host, port, _Deadline(timeout), _printer(name, host, port))


def send(
    host: str,
    port: int,
    payload: bytes,
    timeout: float = 5.0,
    check_status: bool = True,
    *,
    name: str | None = None,
) -> HostStatus | None:
    """Send ``payload`` to the printer, within ``timeout`` seconds for the whole exchange.

    With ``check_status`` the printer is asked ``~HS`` first and nothing is sent when it reports
    a problem; the status is returned. Without it, a printer that takes the connection but does
    not print goes unnoticed.
    """
    deadline = _Deadline(timeout)
    printer = _printer(name, host, port)
    status = None
    if check_status:
        status = _ask_status(host, port, deadline, printer)
        if status.problems:
            raise PrinterError(f"{printer} reports: {status.problem}", status.problems[0])
    with _connect(host, port, deadline, printer) as sock:
        try:
            sock.settimeout(deadline.remaining())
            sock.sendall(payload)
        except OSError as exc:
            raise _failure(exc, printer, deadline, "send") from exc
    return status


class _Deadline:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.at = time.monotonic() + timeout

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


def _printer(name: str | None, host: str, port: int) -> str:
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"printer {name} at {address}" if name else f"printer at {address}"


def _connect(host: str, port: int, deadline: _Deadline, printer: str) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=deadline.remaining())
    except OSError as exc:
        raise _failure(exc, printer, deadline, "connect") from exc


def _ask_status(host: str, port: int, deadline: _Deadline, printer: str) -> HostStatus:
    with _connect(host, port, deadline, printer) as sock:
        reply = b""
        try:
            sock.settimeout(deadline.remaining())
            sock.sendall(HS)
            while reply.count(ETX) < 3:
                sock.settimeout(deadline.remaining())
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except OSError as exc:
            raise _failure(exc, printer, deadline, "status") from exc
    if not reply:
        raise _failure(ConnectionResetError(), printer, deadline, "status")
    try:
        return parse_host_status(reply)
    except ValueError as exc:
        raise PrinterError(
            f"{printer} did not answer like a ZPL printer: is the address right, "
            "and is it a Zebra or ZPL-compatible printer?",
            "bad_status",
        ) from exc


def _failure(exc: OSError, printer: str, deadline: _Deadline, stage: str) -> PrinterError:
    """The PrinterError for a socket failure while connecting, asking ~HS or sending."""
    within = f"within {deadline.timeout:g} s"
    if isinstance(exc, TimeoutError):
        if stage == "status":
            why = "is it out of paper or ribbon, or its head open?"
        elif stage == "send":
            why = "is it busy with another computer's job?"
        else:
            why = "is it switched on and on the network?"
        return PrinterError(f"{printer} did not answer {within}: {why}", "timeout")
    if isinstance(exc, ConnectionRefusedError):
        return PrinterError(
            f"{printer} refused the connection: is it switched on and on the network?", "refused"
        )
    if isinstance(exc, ConnectionError):  # reset, aborted, broken pipe: it hung up on us
        return PrinterError(
            f"{printer} closed the connection: is it restarting, or is its raw port turned off?",
            "refused",
        )
    if isinstance(exc, socket.gaierror):
        return PrinterError(
            f"{printer} cannot be found: this server does not know that name; "
            "check the printer's address",
            "unreachable",
        )
    message = f"{printer} cannot be reached ({exc.strerror or type(exc).__name__})"
    if exc.errno in _UNREACHABLE:
        message += ": is it switched on and on the network?"
    return PrinterError(message, "unreachable")
