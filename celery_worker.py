"""Entry point for the Celery worker and beat: ``celery -A celery_worker worker`` / ``beat``.

The Flask app is configured from the environment as for the web (REDIS_URL, DATABASE_URL …);
Celery finds its app under ``app``/``celery``, and each task runs in the Flask app context.
"""

from lims import create_app

flask_app = create_app()
app = celery = flask_app.extensions["celery"]
