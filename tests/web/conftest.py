"""Web test helpers: the site runs in Berlin time (so the time-zone conversion is tested),
form data as a person fills it in, units in a given status, and a fresh look at what is
stored, to prove a refused form changed nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import Location, Unit
from lims.services.actions import units
from lims.services.admin import locations
from lims.services.custody import ledger
from tests.service.lab import CABINET, PATH_TO, data_for, steps_for

ZONE = "Europe/Berlin"
SITE = {"ADIPOSE": "abdomen", "MARROW": "posterior iliac crest", "BLOOD": "antecubital vein"}
PRODUCT_OF = {"ADIPOSE": "SVF", "MARROW": "BM-MNC", "BLOOD": "PRP"}
RECEIPT_C = {"ADIPOSE": "4", "MARROW": "20", "BLOOD": "21"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"TIMEZONE": ZONE, "UNITS_PER_PAGE": 5}


def local_input(moment: datetime) -> str:
    """A moment as a datetime-local input shows it in the site's zone."""
    return moment.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M")


def register_form(kind: str = "ADIPOSE", **overrides: Any) -> dict[str, Any]:
    """What a clinician types into the register form."""
    data = {
        "mrn": "MRN-7",
        "name": "Pat Example",
        "birth_date": "1980-05-17",
        "unit_type": kind,
        "collection_site": SITE[kind],
        "volume_ml": "250",
        "collected_at": local_input(datetime.now(ZoneInfo(ZONE)) - timedelta(hours=1)),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def action_form(action: str, kind: str = "ADIPOSE") -> dict[str, str]:
    """What a careful technician enters into each action's form."""
    return {
        "dispatch": {"courier": "Courier A", "transport_condition": "cool box 2–8 °C"},
        "receive": {
            "temperature_c": RECEIPT_C[kind],
            "container_intact": "yes",
            "label_matches": "yes",
            "volume_ml": "245",
        },
        "start_processing": {"protocol": "SVF isolation", "equipment": CABINET},
        "complete_processing": {
            "products-0-type": PRODUCT_OF[kind],
            "products-0-volume_ml": "10",
            "products-0-cell_count": "1000000",
        },
        "reject": {"reason": "container leaking"},
        "discard": {"reason": "no longer needed"},
    }[action]


SERVICE_DATA = {
    "dispatch": {"courier": "Courier A", "transport_condition": "cool box"},
    "receive": {
        "temperature_c": 4.0,
        "container_intact": True,
        "label_matches": True,
        "volume_ml": 250,
    },
    "start_processing": {"protocol": "standard", "equipment": CABINET},
    "complete_processing": {
        "products": [{"type": "SVF", "volume_ml": 10}],
        "steps": steps_for("ADIPOSE"),
    },
    "reject": {"reason": "sample unusable"},
    "discard": {"reason": "no longer needed"},
}


@pytest.fixture
def unit_in(register, users) -> Callable[..., Unit]:
    """``unit_in("received")``: an ADIPOSE unit of a fresh collection in that status."""

    def _unit_in(status: str, **overrides: Any) -> Unit:
        unit = register("ADIPOSE", **overrides)
        for step in PATH_TO[status]:
            units.perform_action(unit.id, step, SERVICE_DATA[step], users["technician"])
        return unit

    return _unit_in


@pytest.fixture
def product_in_quarantine(register, users) -> Callable[..., Unit]:
    """``product_in_quarantine("BLOOD")``: a fresh collection processed into its product."""

    def _product(kind: str = "ADIPOSE", **overrides: Any) -> Unit:
        unit = register(kind, **overrides)
        for step in PATH_TO["quarantine"]:
            result = units.perform_action(unit.id, step, data_for(step, kind), users["technician"])
        return result.products[0]

    return _product


@pytest.fixture
def make_box(users) -> Callable[..., Location]:
    """``make_box(rows=2, columns=3)``: a box with a grid of positions A1 …, made by the admin."""

    def _box(name: str = "Box 1", rows: int = 2, columns: int = 3, parent=None) -> Location:
        return locations.create_location(
            name, "box", parent, users["admin"], rows=rows, columns=columns
        )

    return _box


def stored(unit_id: int) -> dict[str, Any]:
    """The unit as the database has it now, and the ledger's length."""
    db.session.rollback()
    row = db.session.execute(
        select(Unit.status, Unit.version, Unit.custodian_id).where(Unit.id == unit_id)
    ).one()
    return {**row._asdict(), "ledger_entries": ledger.count()}


def unit_count() -> int:
    db.session.rollback()
    return units.count_units()


def text_of(response) -> str:
    """The page's text without tags, whitespace collapsed: what a person reads."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&#39;", "'"), ("&quot;", '"'), ("&lt;", "<"), ("&gt;", ">")):
        text = text.replace(entity, char)
    return " ".join(text.replace("&amp;", "&").split())
