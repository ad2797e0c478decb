"""What the two file imports share — instrument result files (decision 81) and files of
records (decision 109): the uploaded file's name as kept, the refusal of a file too large, an
import's job as its page and the API show it, and reading an import by id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select

from ...domain.errors import NotFound, ServiceError
from ...domain.identifiers import MAX_ID
from ...extensions import db

M = TypeVar("M")


class TooLarge(ServiceError):
    http_status, code = 413, "too_large"


def safe_filename(name: object) -> str:
    """The uploaded file's own name, without folders or control characters, at most 200."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = re.sub(r"[\x00-\x1f\x7f\ud800-\udfff]", "", text).strip()
    return (text or "upload.csv")[:200]


@dataclass(frozen=True)
class Progress:
    """An import's state with its job's progress; ``words`` is each import's own."""

    status: str
    counts: dict[str, int]
    job_status: str | None = None
    progress: int = 0
    total: int = 0
    error: str | None = None

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100 if self.finished else 0
        return min(100, self.progress * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.status in ("imported", "failed")


def count_rows(rows: list[dict[str, Any]], statuses: tuple[str, ...]) -> dict[str, int]:
    counts = dict.fromkeys(statuses, 0)
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def by_id(model: type[M], import_id: object, what: str) -> M:
    """The import with this id, or the 404 an unknown or malformed id gets."""
    ident = import_id if isinstance(import_id, int) and not isinstance(import_id, bool) else 0
    found = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if found is None:
        raise NotFound(f"no {what} with id {str(import_id)[:40]}", code="unknown_import")
    return found


def recent(model: Any, limit: int) -> list[Any]:
    return list(db.session.scalars(select(model).order_by(model.id.desc()).limit(max(1, limit))))
