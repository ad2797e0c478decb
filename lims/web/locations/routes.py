"""Locations: the tree of places with their codes, a box's map of positions, and (admins)
a form to create a location. Reads through the services; creating goes through
``locations.create_location``, which checks the values and the role."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import ServiceError
from ...domain.roles import Role
from ...models import Location
from ...security import roles_required
from ...services.actions import storage
from ...services.admin import inventory, locations, sites
from . import bp
from .forms import LocationForm

KEEPERS = (Role.TECHNICIAN, Role.QA, Role.ADMIN)


@dataclass
class Node:
    """A place in the tree with what it holds: units kept there, and a box's occupancy."""

    location: Location
    units: int
    positions: int = 0
    occupied: int = 0
    children: list[Node] = field(default_factory=list)


def location_tree(places: list[Location]) -> list[Node]:
    """The places as a tree (positions folded into their box's count), from one read."""
    counts = inventory.live_unit_counts()
    nodes = {p.id: Node(p, counts.get(p.id, 0)) for p in places if p.kind != "position"}
    roots = []
    for place in places:
        parent = nodes.get(place.parent_id) if place.parent_id else None
        if place.kind == "position":
            if parent is not None:
                parent.positions += 1
                parent.occupied += 1 if counts.get(place.id) else 0
        elif parent is not None:
            parent.children.append(nodes[place.id])
        else:
            roots.append(nodes[place.id])
    return roots


def _is_admin() -> bool:
    return current_user.role == Role.ADMIN.value


def _form(places: list[Location]) -> LocationForm:
    offered = [(s.id, f"{s.name} ({s.code})") for s in sites.list_sites(active_only=True)]
    form = LocationForm(places=places, sites=offered)
    if not form.is_submitted() and request.args.get("parent"):
        form.parent.data = request.args["parent"]
    return form


@bp.route("/")
@roles_required(*KEEPERS)
def index() -> ResponseReturnValue:
    places = locations.all_locations(current_user._get_current_object())
    form = _form(places) if _is_admin() else None
    return render_template("locations/index.html", tree=location_tree(places), form=form)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create() -> ResponseReturnValue:
    """GET: the form alone (the tree's "add inside" links); POST: create, or show why not."""
    places = locations.all_locations()
    form = _form(places)
    if not form.is_submitted():
        return render_template("locations/new.html", form=form)
    page = {"tree": location_tree(places), "form": form}
    if not form.validate():
        error = "Nothing was created: some entries could not be read; see the marked fields."
        return render_template("locations/index.html", error=error, **page), 422
    data = form.to_data()
    try:
        place = locations.create_location(
            data["name"],
            data["kind"],
            data["parent"],
            current_user._get_current_object(),
            rows=data["rows"],
            columns=data["columns"],
            site_id=data["site_id"],
        )
    except ServiceError as exc:
        placed = [form.add_error(name, message) for name, message in exc.fields.items()]
        error = (
            "Nothing was created: see the marked fields."
            if placed and all(placed)
            else f"Nothing was created: {exc.message}."
        )
        return render_template("locations/index.html", error=error, **page), exc.http_status
    flash(f"Created {place.path} ({place.code}).", "success")
    return redirect(url_for("locations.detail", location_id=place.id))


@bp.route("/<id:location_id>")
@roles_required(*KEEPERS)
def detail(location_id: int) -> ResponseReturnValue:
    place = locations.get_location(location_id)
    grid = storage.grid_of(place) if place.is_grid else []
    counts = inventory.live_unit_counts()
    return render_template(
        "locations/detail.html",
        place=place,
        grid=grid,
        columns=[position.grid_column for position, _ in grid[0]] if grid else [],
        occupancy=storage.occupancy(place) if place.is_grid else None,
        units=inventory.units_at(place),
        children=[
            (child, counts.get(child.id, 0)) for child in place.children if child.kind != "position"
        ],
        ancestors=_ancestors(place),
    )


def _ancestors(place: Location) -> list[Location]:
    chain, node = [], place.parent
    while node is not None:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))
