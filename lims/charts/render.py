"""One look for every chart, and the SVG made safe to embed: no script, no network.

pygal by default links its tooltip script from a CDN and writes its home page into comments;
a chart here references nothing outside itself (``js=[]``, comments dropped, no web fonts),
so a page works offline and an inspector's saved copy shows the same thing.
"""

from __future__ import annotations

import re
from html import escape
from math import ceil
from typing import Any

import pygal
from pygal.style import Style

NO_DATA = "No data for this period"

# The app's palette (lims/static/css/app.css) first, then distinct, colour-blind-safe hues.
PALETTE = ("#0b5c80", "#d17a00", "#5b8c2a", "#7b4fa0", "#2a9d8f", "#b5527a", "#6b6b6b")
OUT_OF_SPEC = "#c0261b"
LIMIT = "#17232f"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif'


def style(colors: tuple[str, ...]) -> Style:
    return Style(
        background="transparent",
        plot_background="#ffffff",
        foreground="#17232f",
        foreground_strong="#17232f",
        foreground_subtle="#8a99a8",
        colors=colors or PALETTE,
        font_family=FONT,
        title_font_family=FONT,
        label_font_family=FONT,
        major_label_font_family=FONT,
        legend_font_family=FONT,
        value_font_family=FONT,
        value_label_font_family=FONT,
        no_data_font_family=FONT,
        tooltip_font_family=FONT,
        title_font_size=20,
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=14,
        value_font_size=13,
        value_label_font_size=13,
        no_data_font_size=24,
        opacity=".85",
        opacity_hover=".95",
        transition="0s",
    )


def config(title: str, x_title: str, y_title: str, colors: tuple[str, ...] = ()) -> dict:
    """pygal settings every chart shares; the caller adds its own."""
    return {
        "title": title,
        "x_title": x_title,
        "y_title": y_title,
        "style": style(colors),
        "js": [],  # no tooltip script from a CDN: the data table is the readable detail
        "css": ["file://style.css", "file://graph.css"],  # pygal's own, inlined
        "no_data_text": NO_DATA,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "truncate_legend": -1,
        "truncate_label": -1,
        "width": 960,
        "height": 540,
        "margin": 12,
        "pretty_print": False,
        "disable_xml_declaration": True,
    }


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_PROCESSING = re.compile(r"<\?xml-stylesheet[^>]*\?>")
# pygal writes its configuration into an inline script for its tooltip script; with no
# tooltip script it is dead weight, and a page should run no script it did not ship.
_SCRIPT = re.compile(r"<script\b[^>]*?(?:/>|>.*?</script>)", re.S)
# Its empty tooltip (no script moves it) carries the one style attribute, which a page's
# Content-Security-Policy blocks; the chart's look is all in its <style> element.
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="[^"]*"')


def render(chart: Any, label: str) -> str:
    """The chart as inline SVG: scalable to its container's width, named for screen readers."""
    _room_for_legend(chart)
    svg = chart.render(is_unicode=True)
    svg = _SCRIPT.sub("", _PROCESSING.sub("", _COMMENT.sub("", svg)))
    svg = _STYLE_ATTRIBUTE.sub("", svg)
    return svg.replace(
        "<svg ", f'<svg role="img" aria-label="{escape(label, quote=True)}" ', 1
    ).strip()


def _room_for_legend(chart: Any) -> None:
    """pygal 3.0.5 reserves ``series // columns`` rows for a legend at the bottom, one row
    short (or a negative row) whenever the last row is not full; add the missing rows."""
    series = len(chart.raw_series)
    if not series:
        return
    settings = chart.config
    columns = settings.legend_at_bottom_columns
    missing = ceil(series / columns) - series // columns
    row = 1.5 * max(settings.legend_box_size, settings.style.legend_font_size)
    chart.margin_bottom = settings.margin + missing * row


def new(kind: type, title: str, x_title: str, y_title: str, colors=(), **extra: Any):
    return kind(pygal.Config(**{**config(title, x_title, y_title, tuple(colors)), **extra}))
