"""gunicorn's settings wherever the app is served: ``make run``, the image's default command
and the compose ``web`` service all pass ``--config gunicorn.conf.py``.

The access log names the path without its query string (``%(U)s``, not the request line
``%(r)s``) and leaves out the referrer: a search, a scan or a ``next`` address carries patient
names, MRNs and wristband codes in the query, and a log is kept longer and read by more
people than the pages themselves.
"""

accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
