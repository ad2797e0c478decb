"""Verifying a long ledger on every core: contiguous runs of entries, each checked in a process
of its own, then joined (decision 92).

A run is checked like the whole chain (``verify_chain``) except that it starts from the
``prev_hash`` its first entry names instead of the genesis: within the run every link and
every hash is recomputed. The runs join when each begins where the one before it ended (its
first entry links to the previous run's last hash, its seq follows on) and the first begins at
#1 from the genesis. When all of that holds the ledger is intact, with the same answer the
sequential check gives. When anything does not, the caller runs the sequential check, which
names the first break exactly: a broken ledger is rare, and then the exact report matters more
than the seconds.

A worker process is given the database URL and the ledger key and reads its run with a
connection of its own; it imports no Flask app.
"""

from __future__ import annotations

import hmac
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from sqlalchemy import create_engine, select

from ...domain.ledger_chain import GENESIS, HASHED_FIELDS, values_hash
from ...models import LedgerEntry

log = logging.getLogger(__name__)

# Below this many entries the processes cost more than they save.
PARALLEL_FROM = 50_000
RUN_LENGTH = 25_000


@dataclass(frozen=True)
class Run:
    """What one process found in seq ``lo`` … ``hi``."""

    lo: int
    hi: int
    first_seq: int | None
    first_prev: str | None
    checked: int
    last_seq: int
    last_hash: str
    intact: bool


def check_run(url: str, key: bytes, lo: int, hi: int) -> Run:
    """Recompute the entries with ``lo <= seq <= hi`` in seq order (in a worker process): each
    follows on from the one before it and matches its hash; the first is taken as it links."""
    engine = create_engine(url)
    table = LedgerEntry.__table__
    columns = [table.c[name] for name in (*HASHED_FIELDS, "id", "entry_hash")]
    stmt = (
        select(*columns)
        .where(table.c.seq >= lo, table.c.seq <= hi)
        .order_by(table.c.seq, table.c.id)
    )
    first_seq = first_prev = None
    expected, prev, checked, intact = lo, "", 0, True
    seq_at, prev_at = HASHED_FIELDS.index("seq"), HASHED_FIELDS.index("prev_hash")
    fields = len(HASHED_FIELDS)
    try:
        with engine.connect() as conn:
            for row in conn.execution_options(yield_per=5000).execute(stmt):
                seq, prev_hash, stored = row[seq_at], row[prev_at], row[fields + 1]
                if first_seq is None:
                    first_seq, first_prev, prev = seq, prev_hash, prev_hash
                if (
                    seq != expected
                    or prev_hash != prev
                    or not hmac.compare_digest(values_hash(key, row), stored)
                ):
                    intact = False
                    break
                prev, expected, checked = stored, expected + 1, checked + 1
    finally:
        engine.dispose()
    return Run(lo, hi, first_seq, first_prev, checked, expected - 1, prev, intact)


def runs_of(last_seq: int, workers: int) -> list[tuple[int, int]]:
    length = max(RUN_LENGTH // 5, min(RUN_LENGTH * 4, -(-last_seq // (workers * 8))))
    return [(lo, min(lo + length - 1, last_seq)) for lo in range(1, last_seq + 1, length)]


def joined(runs: list[Run], last_seq: int) -> tuple[int, str] | None:
    """``(checked, head hash)`` when the runs make one intact chain #1 … ``last_seq``; else None."""
    prev, expected, checked = GENESIS, 1, 0
    for run in sorted(runs, key=lambda r: r.lo):
        if not run.intact or run.first_seq != expected or run.first_prev != prev:
            return None
        if run.last_seq != run.hi or run.checked != run.hi - run.lo + 1:
            return None
        prev, expected, checked = run.last_hash, run.hi + 1, checked + run.checked
    if expected != last_seq + 1:
        return None
    return checked, prev


def can_fork_workers() -> bool:
    """A daemonic process (a Celery prefork child) may not start processes of its own."""
    return not multiprocessing.current_process().daemon


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def verify_parallel(
    url: str,
    key: bytes,
    last_seq: int,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, str] | None:
    """Check runs of the ledger in ``workers`` processes; ``(checked, head hash)`` when intact."""
    runs: list[Run] = []
    done = 0
    context = multiprocessing.get_context("spawn")  # no inherited connections or app state
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                pool.submit(check_run, url, key, lo, hi) for lo, hi in runs_of(last_seq, workers)
            ]
            for future in as_completed(futures):
                run = future.result()
                runs.append(run)
                done += run.checked
                if progress is not None:
                    progress(done)
    except (BrokenProcessPool, OSError):  # no processes here: the caller checks in one
        log.warning("the ledger could not be verified in worker processes", exc_info=True)
        return None
    return joined(runs, last_seq)
