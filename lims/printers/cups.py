"""Sending a PDF label to a CUPS queue with ``lp``, for printers that do not speak ZPL.

The queue's page size must be the label's: the single-label PDF's page is the label
(docs/printing.md says how to set a queue up).
"""

from __future__ import annotations

import os
import re
import subprocess

from .zpl import PrinterError

_JOB_ID = re.compile(r"request id is (\S+)")


def send_pdf(
    queue: str,
    pdf: bytes,
    copies: int = 1,
    timeout: float = 30,
    lp: str = "lp",
    *,
    title: str = "label",
) -> str:
    """Queue ``copies`` of ``pdf`` on ``queue``; the job id lp reports ("tube-1-123"), or ""
    when it reports none. PrinterError (code ``cups_error``) when CUPS does not take the job."""
    if copies < 1:
        raise ValueError("copies must be at least 1")
    command = [lp, "-d", queue, "-n", str(copies), "-t", title, "-"]
    try:
        done = subprocess.run(
            command,
            input=pdf,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C"},  # lp's English "request id is …", parsed below
            check=False,
        )
    except FileNotFoundError as exc:
        raise PrinterError(
            "CUPS's lp command is not installed on this server", "cups_error"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise PrinterError(
            f"CUPS did not take the job for queue {queue} within {timeout:g} s", "cups_error"
        ) from exc
    except OSError as exc:
        raise PrinterError(f"CUPS's lp command could not be run: {exc}", "cups_error") from exc
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip() or f"lp exited with {done.returncode}"
        raise PrinterError(f"CUPS did not take the job for queue {queue}: {said}", "cups_error")
    found = _JOB_ID.search(done.stdout.decode(errors="replace"))
    return found[1] if found else ""
