"""The WSGI application of a worker: granian calls ``seedapi.wsgi:app_from_env`` (a factory)
in each worker process once it has forked (seedapi/server.py)."""

from __future__ import annotations

from seedapi.app import create_app
from seedapi.config import load_config
from seedapi.lifecycle import process_lifecycle
from seedapi.logs import setup_logging


def app_from_env():
    config = load_config()
    setup_logging(config.log_level)
    lifecycle = process_lifecycle()
    app = create_app(config, lifecycle=lifecycle)
    lifecycle.mark_ready()  # this worker can serve: /api/ready answers 200 (until a drain)
    return app
