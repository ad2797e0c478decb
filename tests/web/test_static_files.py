"""The static folder serves what a page needs and nothing else: no links (one served the
label font's Python package beside the font), only stylesheets, scripts, fonts, images and
licence texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: the vendored static files)

STATIC = Path(__file__).resolve().parents[2] / "lims" / "static"
ALLOWED = {".css", ".js", ".woff2", ".ttf", ".svg", ".png", ".ico", ".txt"}
LICENCES = {"LICENSE", "LICENCE", "COPYING"}


def everything_under_static() -> list[Path]:
    return sorted(STATIC.rglob("*"))


def test_nothing_under_static_is_a_link():
    links = [p for p in everything_under_static() if p.is_symlink()]
    assert links == []


def test_every_file_under_static_is_a_regular_file_of_an_allowed_type():
    files = [p for p in everything_under_static() if not p.is_dir()]
    assert files, "the static folder is empty"
    odd = [
        str(p.relative_to(STATIC))
        for p in files
        if not p.is_file() or (p.suffix.lower() not in ALLOWED and p.stem not in LICENCES)
    ]
    assert odd == []


@pytest.mark.parametrize(
    "path", ["/static/fonts/__init__.py", "/static/fonts/../fonts/__init__.py", "/static/fonts/"]
)
def test_no_python_is_served_from_static(client, path):
    assert client.get(path).status_code == 404


def test_the_label_font_is_served(client):
    response = client.get("/static/fonts/DejaVuSans.ttf")
    assert response.status_code == 200
    assert response.data[:4] == b"\x00\x01\x00\x00"  # a TrueType font
