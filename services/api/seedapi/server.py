"""The API's server: granian (a Rust HTTP server) running the Bottle app over WSGI.

    python -m seedapi.server          (the image's CMD; everything comes from the environment)

Why granian and not gunicorn: HTTP parsing, keep-alive and the socket work are Rust, and
the app runs in a few blocking threads per worker. Through nginx on 2 cores, gunicorn's
gthread worker served about a fifth of the Express baseline's requests; granian with one
blocking thread serves as many (bench/services/run.sh measures both in one run).

Shutdown sequence (what ECS + the ALB deregistration delay expect):
  1. SIGTERM reaches this process (PID 1 in the container): the shared lifecycle flag
     flips to DRAINING, so /api/ready answers 503 in every worker while the listener
     stays open and other requests are still served, for DRAIN_SECONDS.
  2. Then granian's graceful stop: the listener closes, workers finish the requests in
     flight (up to GRACEFUL_TIMEOUT, then they are killed) and exit.
  A second SIGTERM (or SIGINT) during the drain skips straight to step 2.
Keep DRAIN_SECONDS + GRACEFUL_TIMEOUT below the ECS container stopTimeout.

Workers: one per vCPU with the DynamoDB store (ITEMS_TABLE), exactly one with the
in-memory store (seedapi/workers.py says how the vCPUs are found). Workers are forked
after this process made the shared lifecycle flag; each loads the app (and its own boto3
client) itself.
"""

from __future__ import annotations

import math
import signal
import sys
import threading

from seedapi.config import Config, ConfigError, load_config
from seedapi.lifecycle import process_lifecycle
from seedapi.workers import thread_count, worker_count

# Granian's own log lines (start, stop, worker deaths) in the app's JSON shape; the
# access log is the app's (seedapi.access), so granian's is off.
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "seedapi.logs.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "loggers": {
        "_granian": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "granian.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
# Request line and header limits are the app's (seedapi.app: JSON 414/431); granian's own
# buffer only bounds what a client can make a worker hold.
MAX_BUFFER_BYTES = 65536
KEEPALIVE = True


def build_server(config: Config):
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import MPServer

    class DrainingServer(MPServer):  # worker processes, forked: they share the lifecycle flag
        """granian's server with the drain step in front of its graceful stop."""

        lifecycle = process_lifecycle()  # created here, before the workers fork

        def signal_handler_interrupt(self, *args, **kwargs):
            if self.lifecycle.draining or config.drain_seconds <= 0:
                self.lifecycle.start_draining()
                return super().signal_handler_interrupt(*args, **kwargs)
            self.lifecycle.start_draining()
            _log().info("SIGTERM: readiness is now 503; draining %ss before stopping workers", config.drain_seconds)
            timer = threading.Timer(config.drain_seconds, super().signal_handler_interrupt)
            timer.daemon = True
            timer.start()
            return None

    workers = worker_count(config)
    threads = thread_count(config)
    server = DrainingServer(
        "seedapi.wsgi:app_from_env",
        address="0.0.0.0",  # every interface of the task: the load balancer reaches it there
        port=config.port,
        interface=Interfaces.WSGI,
        factory=True,
        workers=workers,
        blocking_threads=threads,
        # connections a worker takes on at once: the ALB/nginx keep theirs open
        backpressure=max(64, threads * 16),
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(keep_alive=KEEPALIVE, max_buffer_size=MAX_BUFFER_BYTES),
        websockets=False,
        log_enabled=True,
        log_level=LogLevels(config.log_level.lower()),
        log_dictconfig=LOG_CONFIG,
        log_access=False,
        workers_kill_timeout=max(1, math.ceil(config.graceful_timeout)),
        respawn_failed_workers=True,
    )
    server.on_startup(lambda: _log().info("store %s, %d worker(s), %d thread(s) each", _store(config), workers, threads))
    return server


def _store(config: Config) -> str:
    return f"dynamodb:{config.items_table}" if config.items_table else "memory"


def _log():
    import logging

    return logging.getLogger("_granian")


def main() -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        sys.stderr.write(f"seedapi: {exc}\n")
        return 2
    server = build_server(config)
    # SIGINT as SIGTERM (granian handles both); SIGQUIT: stop now, like gunicorn did.
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
