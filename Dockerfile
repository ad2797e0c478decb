# The LIMS image: gunicorn serving wsgi:app, and the same code as Celery worker and beat
# (celery -A celery_worker worker|beat); docker-compose.yml runs all three from it.
# Configuration comes from the environment only; production refuses to start without
# SECRET_KEY, LEDGER_KEY and a PostgreSQL DATABASE_URL (config.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LIMS_ENV=production \
    LIMS_INSTANCE_DIR=/app/instance

WORKDIR /app

RUN groupadd --system lims \
    && useradd --system --gid lims --home-dir /app --no-create-home --shell /usr/sbin/nologin lims

# libdmtx: the Data Matrix on product bag labels (pylibdmtx loads it at run time).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libdmtx0b \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The code belongs to root and is read-only for the app; only instance/ is writable.
COPY config.py wsgi.py celery_worker.py gunicorn.conf.py ./
COPY lims/ lims/
COPY templates/ templates/
COPY migrations/ migrations/
RUN mkdir -p instance && chown lims:lims instance

USER lims
EXPOSE 8000
# gunicorn.conf.py: the access log without query strings (they carry patient names).
CMD ["gunicorn", "--config=gunicorn.conf.py", "--bind=0.0.0.0:8000",
     "--timeout=120", "--no-control-socket", "wsgi:app"]
