"""gunicorn settings for the API. Everything comes from the environment.

Shutdown sequence (what ECS + the ALB deregistration delay expect):
  1. SIGTERM reaches the master: the shared lifecycle flag flips to DRAINING,
     so /api/ready answers 503 in every worker while the listener stays open
     and other requests are still served, for DRAIN_SECONDS.
  2. Then the normal gunicorn graceful stop: listener closed, workers get
     SIGTERM, finish in-flight requests (up to GRACEFUL_TIMEOUT), exit.
  A second SIGTERM during the drain skips straight to step 2; SIGINT/SIGQUIT
  are gunicorn's immediate shutdown as usual.
Keep DRAIN_SECONDS + GRACEFUL_TIMEOUT below the ECS container stopTimeout.

Workers: one per vCPU with the DynamoDB store (ITEMS_TABLE), exactly one with
the in-memory store (seedapi/workers.py says how the vCPUs are found). The
app is loaded in each worker after the fork (no preload_app), so every worker
has its own boto3 client.
"""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from seedapi import gunicorn_errors
from seedapi.config import ConfigError, load_config
from seedapi.lifecycle import process_lifecycle
from seedapi.workers import worker_count

try:
    _config = load_config()
except ConfigError as exc:
    sys.stderr.write(f"seedapi: {exc}\n")
    sys.exit(2)

_lifecycle = process_lifecycle()  # created here, in the master, before any fork
gunicorn_errors.install()  # 400/414/431... from the HTTP parser as JSON, not HTML

wsgi_app = "seedapi.wsgi:app_from_env()"
bind = [f"0.0.0.0:{_config.port}"]
workers = worker_count(_config)
worker_class = "gthread"
threads = _config.threads
graceful_timeout = int(_config.graceful_timeout)
timeout = 60
# Each worker's heartbeat file: the task runs with a read-only root filesystem (no /tmp), and
# /dev/shm is the tmpfs every container has (gunicorn's documented advice for containers).
worker_tmp_dir = "/dev/shm"
limit_request_line = 8190  # gunicorn's maximum; longer request lines get a JSON 414
keepalive = 75  # above the ALB idle timeout (60s) and nginx's keepalive_timeout
accesslog = None  # the app writes its own JSON access log line
errorlog = "-"
loglevel = _config.log_level.lower()
proc_name = "seedapi"
forwarded_allow_ips = "*"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "seedapi.logs.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"level": "WARNING", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {
            "level": _config.log_level,
            "handlers": ["stdout"],
            "propagate": False,
        },
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}


def post_worker_init(worker):
    _lifecycle.mark_ready()


def when_ready(server):
    server.log.info(
        "store %s, %d worker(s)",
        f"dynamodb:{_config.items_table}" if _config.items_table else "memory",
        workers,
    )
    real_handle_term = server.handle_term

    def handle_term():
        if _lifecycle.draining or _config.drain_seconds <= 0:
            _lifecycle.start_draining()
            return real_handle_term()  # raises StopIteration -> graceful stop
        _lifecycle.start_draining()
        server.log.info(
            "SIGTERM: readiness is now 503; draining %ss before stopping workers",
            _config.drain_seconds,
        )
        timer = threading.Timer(
            _config.drain_seconds, server.signal, (signal.SIGTERM, None)
        )
        timer.daemon = True
        timer.start()

    server.handle_term = handle_term


control_socket_disable = True  # no ~/.gunicorn socket: HOME may be read-only
