"""Entry point for the Celery worker and beat: ``celery -A celery_worker worker`` / ``beat``.

The app is configured from the environment as for the web (REDIS_URL, DATABASE_URL …).
"""

from lims import create_app

app = create_app()
celery = app.extensions["celery"]
