"""Barcode symbols as module patterns, drawn the same way by every renderer.

Code 128 comes from python-barcode (its encoder picks code sets, so digit runs are compact);
Data Matrix (ECC 200) from libdmtx through pylibdmtx.
"""

from __future__ import annotations

from functools import lru_cache

import barcode

_DMTX_PIXELS = 5  # pylibdmtx draws each module as 5 x 5 pixels
_DMTX_MARGIN = 10  # and leaves a 2-module white border


@lru_cache(maxsize=4096)
def code128_modules(data: str) -> str:
    """The bars and spaces of ``data`` as ``1``/``0`` modules, stop pattern included."""
    return barcode.get("code128", data).build()[0]


def runs(modules: str) -> list[tuple[int, int]]:
    """(start, length) of each bar, so a renderer draws one rectangle per bar."""
    bars, start = [], None
    for i, bit in enumerate(modules + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit == "0" and start is not None:
            bars.append((start, i - start))
            start = None
    return bars


class DataMatrixUnavailable(RuntimeError):
    """libdmtx is not installed on this machine."""


@lru_cache(maxsize=4096)
def datamatrix_rows(data: str) -> tuple[str, ...]:
    """The Data Matrix of ``data`` as rows of ``1`` (dark) / ``0`` modules, no border.

    libdmtx is loaded here, not at import, so a machine without it still runs everything
    but the product bag's Data Matrix.
    """
    try:
        from pylibdmtx import pylibdmtx
    except ImportError as exc:
        raise DataMatrixUnavailable(
            "this machine cannot draw Data Matrix codes: install Debian's libdmtx0b "
            "(apt-get install libdmtx0b), or print on a stock without one"
        ) from exc

    encoded = pylibdmtx.encode(data.encode("ascii"))
    stride = encoded.width * encoded.bpp // 8
    count = (encoded.width - 2 * _DMTX_MARGIN) // _DMTX_PIXELS
    rows = []
    for r in range(count):
        y = _DMTX_MARGIN + r * _DMTX_PIXELS + _DMTX_PIXELS // 2
        row = []
        for c in range(count):
            x = _DMTX_MARGIN + c * _DMTX_PIXELS + _DMTX_PIXELS // 2
            row.append("1" if encoded.pixels[y * stride + x * encoded.bpp // 8] < 128 else "0")
        rows.append("".join(row))
    return tuple(rows)
