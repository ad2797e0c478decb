"""A Code 128 barcode as a reportlab flowable, for the documents that carry one (the certificate
of release, a shipment's manifest and packing list): bars over a caption, a quiet zone of ten
modules each side."""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from .fonts import FONT
from .symbols import code128_modules, runs


class Code128Bars(Flowable):
    def __init__(
        self,
        data: str,
        caption: str | None = None,
        *,
        module: float = 0.3 * mm,
        bar_height: float = 10 * mm,
        under: float = 4 * mm,  # room below the bars for the caption
        font_size: float = 8,
    ) -> None:
        super().__init__()
        self.modules = code128_modules(data)
        self.caption = data if caption is None else caption
        self.module, self.bar_height, self.under, self.font_size = (
            module,
            bar_height,
            under,
            font_size,
        )
        self.width = (len(self.modules) + 20) * module
        self.height = bar_height + under

    def wrap(self, *args: Any) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.setFillColor(colors.black)
        left = 10 * self.module
        for start, length in runs(self.modules):
            canvas.rect(
                left + start * self.module, self.under, length * self.module, self.bar_height, 0, 1
            )
        canvas.setFont(FONT, self.font_size)
        canvas.drawCentredString(self.width / 2, self.under / 5, self.caption)
