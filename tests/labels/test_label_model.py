"""The label model and renderers without a database: sizes, rules, check characters."""

from __future__ import annotations

from typing import get_args

import pypdfium2
import pytest

from lims.domain.catalogue import COLD, CRYO, ROOM
from lims.domain.identifiers import check_character, eye_readable
from lims.labels import PAGES, STOCKS, Code128, Label, LabelDoesNotFit, default_page, render
from lims.labels.fonts import covers
from lims.labels.layout import Bars, layout
from lims.labels.model import BAR_HEIGHT_MIN_MM, QUIET_ZONE_X, X_MIN_MM, module_width
from lims.labels.zpl import dots, module_dots
from lims.services.station import labels

from .conftest import linear_codes, page_sizes, pdf_image, pdf_text, svg_text, zpl_text

DIN_CODE = "=C00012600000560"


def tube(*codes: str, lines: tuple[str, ...] = ("Adipose tissue",)) -> Label:
    return Label("source_tube", lines, tuple(Code128(c) for c in codes), ("C0001 26 000005", "H"))


# Vectors checked against the pure-system form of ISO 7064 Mod 37-2: the weighted sum of
# the values (weights 2^k mod 37) plus the check value is 1 mod 37.
@pytest.mark.parametrize(
    ("data", "check"),
    [
        ("G123417654321", "A"),  # the published ISBT 128 example
        ("C00012600000", "E"),
        ("W00001234567", "7"),
        ("C0001260000005", "6"),
        ("A99992512345", "B"),
    ],
)
def test_check_character_vectors(data, check):
    assert check_character(data) == check


def test_published_example_is_boxed_in_the_eye_readable_form():
    assert check_character("G123417654321") == "A"
    assert eye_readable("G123417654321").endswith(" A")


@pytest.mark.req("I-2")
@pytest.mark.parametrize("stock", sorted(STOCKS))
def test_code128_uses_a_quarter_millimetre_x_with_quiet_zones_and_tall_bars(stock):
    bars = [e for e in layout(tube(DIN_CODE), STOCKS[stock]).elements if isinstance(e, Bars)]
    assert len(bars) == 1
    (code,) = bars
    assert code.module == pytest.approx(0.25)
    assert code.height >= BAR_HEIGHT_MIN_MM
    assert code.x >= QUIET_ZONE_X * code.module
    right_edge = code.x + (len(code.modules) + QUIET_ZONE_X) * code.module
    assert right_edge <= STOCKS[stock].width_mm


@pytest.mark.req("I-2")
def test_a_long_code_narrows_but_never_below_the_minimum():
    assert X_MIN_MM <= module_width(200, 40) < 0.25
    with pytest.raises(LabelDoesNotFit, match=r"0\.17"):
        module_width(400, 40)


@pytest.mark.req("I-2")
def test_a_code_too_long_for_the_tube_is_refused_not_shrunk():
    with pytest.raises(LabelDoesNotFit):
        layout(tube("=" + "AB" * 20), STOCKS["tube"])


def test_text_that_cannot_fit_the_stock_is_refused():
    crowded = tube(DIN_CODE, lines=tuple(f"line {i}" for i in range(30)))
    with pytest.raises(LabelDoesNotFit, match="larger stock"):
        layout(crowded, STOCKS["tube"])


@pytest.mark.parametrize(("dpi", "module", "width"), [(203, 2, 406), (300, 3, 600)])
def test_zpl_dots_are_computed_from_millimetres(dpi, module, width):
    zpl = render(tube(DIN_CODE), STOCKS["tube"], "zpl", dpi=dpi).decode()
    assert f"^PW{width}" in zpl
    assert f"^LL{dots(25.4, dpi)}" in zpl
    assert f"^BY{module},3," in zpl
    assert module * 25.4 / dpi >= X_MIN_MM
    assert f"^BCN,{dots(5.5, dpi)},N,N,N,A^FD{DIN_CODE}^FS" in zpl


@pytest.mark.req("I-2")
def test_zpl_module_never_drops_under_the_minimum_x():
    assert module_dots(0.17, 203) * 25.4 / 203 >= X_MIN_MM


def test_zpl_text_cannot_inject_commands():
    label = tube(DIN_CODE, lines=("Name ^XZ~JR_x",))
    zpl = render(label, STOCKS["tube"], "zpl").decode()
    assert "^FH^FDName _5EXZ_7EJR_5Fx^FS" in zpl
    assert zpl.count("^XZ") == 1


def test_pdf_sheet_holds_several_labels_per_page():
    pdf = render(tube(DIN_CODE), STOCKS["tube"], "pdf", copies=41)
    assert len(pypdfium2.PdfDocument(pdf)) == 2  # 40 tube labels per Letter page


LETTER_MM, A4_MM = (215.9, 279.4), (210.0, 297.0)


@pytest.mark.parametrize(("stock", "size"), [("tube", (50.8, 25.4)), ("bag", (100.0, 100.0))])
def test_one_copy_is_a_pdf_page_the_size_of_the_stock_and_its_code_reads(stock, size):
    pdf = render(tube(DIN_CODE), STOCKS[stock], "pdf")

    assert page_sizes(pdf) == [pytest.approx(size, abs=0.01)]
    assert linear_codes(pdf_image(pdf)) == {DIN_CODE}


@pytest.mark.parametrize(("page", "size"), [("letter", LETTER_MM), ("a4", A4_MM)])
@pytest.mark.parametrize("copies", [1, 3])
def test_a_sheet_is_letter_or_a4_whatever_the_copies(page, size, copies):
    pdf = render(tube(DIN_CODE), STOCKS["tube"], "pdf", copies=copies, page=page)

    assert page_sizes(pdf) == [pytest.approx(size, abs=0.01)]
    assert linear_codes(pdf_image(pdf, dpi=300)) == {DIN_CODE}


def test_label_pages_carry_one_copy_each():
    pdf = render(tube(DIN_CODE), STOCKS["bag"], "pdf", copies=3, page="label")

    assert page_sizes(pdf) == [pytest.approx((100.0, 100.0), abs=0.01)] * 3
    assert pdf_text(pdf).count("Adipose tissue") == 3


@pytest.mark.parametrize(("copies", "page"), [(1, "label"), (2, "letter"), (100, "letter")])
def test_the_default_page_is_the_label_for_one_copy_and_a_letter_sheet_for_more(copies, page):
    assert default_page(copies) == page


@pytest.mark.parametrize(
    ("storage", "text"),
    [(COLD, "at 2–8 °C"), (ROOM, "at 15–25 °C"), (CRYO, "at or below -150 °C")],
)
def test_storage_is_printed_in_characters_the_label_font_has(storage, text):
    printed = labels.storage_text(storage)

    assert printed == text
    assert all(covers(ch) for ch in printed)


@pytest.mark.parametrize("fmt", ["svg", "pdf", "zpl"])
@pytest.mark.parametrize(
    ("line", "char"),
    [
        ("山田 太郎", "山"),  # CJK: DejaVu Sans has no glyph
        ("Tab\there", "\t"),  # a control character
        ("Bell \x07", "\x07"),
    ],
)
def test_only_what_the_font_cannot_draw_is_refused_in_every_format(fmt, line, char):
    label = tube(DIN_CODE, lines=(line,))

    with pytest.raises(LabelDoesNotFit, match="cannot print") as refused:
        render(label, STOCKS["tube"], fmt)
    assert repr(char) in str(refused.value)
    assert f"U+{ord(char):04X}" in str(refused.value)


def test_a_bold_warning_line_is_checked_against_the_bold_face():
    label = Label("product_bag", ("Ok",), (Code128(DIN_CODE),), warnings=("Νίκος Łukasz 山",))

    with pytest.raises(LabelDoesNotFit, match="U\\+5C71"):
        render(label, STOCKS["bag"], "pdf")


@pytest.mark.parametrize("fmt", ["svg", "pdf", "zpl"])
@pytest.mark.parametrize(
    "name", ["Zoë Müller-Léger", "Łukasz Wójcik-Żak", "Dvořák", "Şükrü", "Νίκος", "Анна"]
)
def test_names_beyond_windows_1252_print_in_every_format(fmt, name):
    label = tube(DIN_CODE, lines=(name,))

    printed = render(label, STOCKS["tube"], fmt)

    read = {"svg": svg_text, "pdf": pdf_text, "zpl": zpl_text}[fmt]
    assert name in read(printed)


def test_layout_measures_text_with_the_font_the_pdf_draws_with():
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from lims.labels.layout import text_width

    assert text_width("Łukasz", 3) == pytest.approx(stringWidth("Łukasz", "DejaVuSans", 3))
    assert text_width("Łukasz", 3) != pytest.approx(stringWidth("Łukasz", "Helvetica", 3))
    assert text_width("W", 3, bold=True) == pytest.approx(stringWidth("W", "DejaVuSans-Bold", 3))


def test_the_pdf_embeds_the_vendored_font():
    pdf = render(tube(DIN_CODE, lines=("Νίκος",)), STOCKS["tube"], "pdf")

    assert b"DejaVuSans" in pdf
    assert b"/Helvetica" not in pdf


def test_the_options_offer_the_pages_the_pdf_writer_draws():
    offered, _none = get_args(labels.LabelOptions.model_fields["page"].annotation)

    assert get_args(offered) == PAGES
