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
connection of its own (``ledger_runs``: a module light enough that a process starts on it in
a third of a second; it imports no Flask app and, on PostgreSQL, no models).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from ...domain.ledger_chain import GENESIS
from .ledger_runs import Run, check_run

log = logging.getLogger(__name__)

# Below this many entries the processes cost more than they save.
PARALLEL_FROM = 50_000
RUN_LENGTH = 25_000


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
