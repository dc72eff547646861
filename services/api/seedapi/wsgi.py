"""gunicorn entry point: ``gunicorn 'seedapi.wsgi:app_from_env()'``."""

from __future__ import annotations

from seedapi.app import create_app
from seedapi.config import load_config
from seedapi.lifecycle import process_lifecycle
from seedapi.logs import setup_logging


def app_from_env():
    config = load_config()
    setup_logging(config.log_level)
    return create_app(config, lifecycle=process_lifecycle())
