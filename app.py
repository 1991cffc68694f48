"""WSGI entry point: ``gunicorn 'app:app'``. Builds the app; does no I/O."""
from escalation import create_app

app = create_app()
