"""A ZPL printer emulator on a free port of 127.0.0.1, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lims.printers.emulator import ZplPrinterEmulator


@pytest.fixture
def emulator() -> Iterator[ZplPrinterEmulator]:
    with ZplPrinterEmulator(name="tube-1") as printer:
        yield printer
