from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from ..extensions import db

LOCATION_KINDS = (
    "site",
    "room",
    "freezer",
    "incubator",
    "refrigerator",
    "bench",
    "rack",
    "box",
    "position",
)


class Location(db.Model):
    """A place that holds units: site → room → freezer/incubator → rack → box → position."""

    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    # The site it is at (a child is where its parent is, decision 103).
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    # A box is a grid of rows × columns; each of its positions knows its cell.
    grid_rows: Mapped[int | None] = mapped_column(Integer)
    grid_columns: Mapped[int | None] = mapped_column(Integer)
    grid_row: Mapped[int | None] = mapped_column(Integer)
    grid_column: Mapped[int | None] = mapped_column(Integer)

    parent: Mapped[Location | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Location]] = relationship(back_populates="parent", order_by="Location.id")

    @property
    def is_grid(self) -> bool:
        return bool(self.grid_rows and self.grid_columns)

    @property
    def path(self) -> str:
        """The place and those above it, "Room › Freezer › Rack › Box › A1". The places above
        are read in one statement (a recursive query) when the session has not got them yet,
        not one lazy load each."""
        _held = self._places_above()  # referenced while walking: the session's map is weak
        parts, node = [], self
        while node is not None:
            parts.append(node.name)
            node = node.parent
        return " › ".join(reversed(parts))

    def _places_above(self) -> list[Location]:
        session = object_session(self)
        if session is None or self.parent_id is None or "parent" in self.__dict__:
            return []
        if session.identity_map.get(session.identity_key(Location, self.parent_id)) is not None:
            return []  # the parent is there: its lazy load reads nothing
        above = (
            select(Location.id, Location.parent_id)
            .where(Location.id == self.parent_id)
            .cte("above", recursive=True)
        )
        above = above.union_all(
            select(Location.id, Location.parent_id).join(above, Location.id == above.c.parent_id)
        )
        # into the session: each ``parent`` is then found there (a get by primary key)
        return list(session.scalars(select(Location).where(Location.id.in_(select(above.c.id)))))
