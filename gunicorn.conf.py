"""gunicorn's settings wherever the app is served: ``make run``, the image's default command
and the compose ``web`` service all pass ``--config gunicorn.conf.py``.

The access log names the path without its query string (``%(U)s``, not the request line
``%(r)s``) and leaves out the referrer: a search, a scan or a ``next`` address carries patient
names, MRNs and wristband codes in the query, and a log is kept longer and read by more
people than the pages themselves.
"""

import os

accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Workers and threads, chosen with `make bench-http` (docs/deploy.md, decision 93). With Redis
# (compose, production): one synchronous worker per core — on two cores it answered look-ups
# and scans fastest and with the shortest tail of every setting tried (1×8, 2×4, 2×1, 3×1, 4×2).
# Without Redis (`make run`): one process, so that the failed sign-in budget, counted in memory
# there, is one budget, with two threads (of 1×2, 1×4 and 1×8 the shortest tail at the same
# throughput). WEB_CONCURRENCY and GUNICORN_THREADS override both.
_embedded = not os.environ.get("REDIS_URL")
workers = int(os.environ.get("WEB_CONCURRENCY") or (1 if _embedded else os.cpu_count() or 1))
threads = int(os.environ.get("GUNICORN_THREADS") or (2 if _embedded else 1))


def post_worker_init(worker):
    """Once the worker has loaded the app, move everything it holds (modules, mappers, the
    compiled SQL cache, templates) out of the garbage collector's sight: those objects live
    as long as the worker. Without this, every full collection walked them all again — on a
    request that makes many objects (the readiness board: 13,000 ORM rows) that was a third
    of its time (docs/performance.md, decision 115)."""
    import gc

    gc.collect()
    gc.freeze()
