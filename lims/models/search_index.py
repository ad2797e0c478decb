"""The text-search indexes behind a search by name, record number or part of an identifier
(decision 95). They live in the migrations only, not in the models: each backend has its own
kind, and neither is a plain table or index the models could declare.

- PostgreSQL: ``pg_trgm`` GIN indexes on ``patients.name``, ``patients.mrn`` and
  ``units.din``; ``ILIKE '%…%'`` uses them.
- SQLite: FTS5 tables with the trigram tokenizer, ``patients_search (name, mrn)`` and
  ``units_search (din)``, external-content tables kept by triggers on ``patients`` and
  ``units``; a ``MATCH`` of a quoted phrase finds it anywhere in the text, case folded.

Both need at least three characters; a shorter search reads the tables, as before.
"""

from __future__ import annotations

SQLITE_TABLES = ("patients_search", "units_search")
PG_INDEXES = ("ix_patients_name_trgm", "ix_patients_mrn_trgm", "ix_units_din_trgm")
MIN_CHARACTERS = 3  # a trigram


def in_models(name: str | None, type_: str, parent_names: object = None) -> bool:
    """For Alembic's ``include_name``: False for the search tables (and FTS5's own shadow
    tables) and indexes, which autogenerate must neither add nor drop; True for the rest."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SQLITE_TABLES)
    if type_ == "index":
        return name not in PG_INDEXES
    return True
