"""Configuration, read from the environment only and validated at startup."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from seedapi.tracing import parse_daemon_address

COLOURS = ("blue", "green")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")
_COMMIT_RE = re.compile(r"^[0-9A-Za-z._-]{1,64}$")
# DynamoDB table names: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_SEGMENT_NAME_RE = re.compile(r"^[\w\s.:/%&#=+\\@-]{1,200}$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class ConfigError(ValueError):
    """Raised with every problem found in the environment, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class Config:
    port: int = 8000
    version: str = "0.0.0-dev"
    commit: str = "unknown"
    colour: str = "blue"
    log_level: str = "INFO"
    threads: int = 0  # blocking threads per worker; 0 = 1 with the memory store, 8 with DynamoDB
    drain_seconds: float = 5.0
    graceful_timeout: float = 20.0  # rounded up to whole seconds by the server
    max_body_bytes: int = 16384
    max_items: int = 10000
    test_endpoints: bool = False
    items_table: str = ""  # DynamoDB table of the items; "" = in-memory store
    aws_region: str = ""
    workers: int = 0  # worker processes; 0 = sized to the vCPUs
    # X-Ray (seedapi/tracing.py): on when the daemon's address is set
    xray_daemon_address: str = ""
    xray_tracing_name: str = "api"
    xray_sampling_rate: float = 0.05
    xray_sampling_reservoir: int = 1


def _int(env, name, default, lo, hi, problems):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        problems.append(f"{name}={raw!r} is not an integer")
        return default
    if not lo <= value <= hi:
        problems.append(f"{name}={value} must be between {lo} and {hi}")
    return value


def _float(env, name, default, lo, hi, problems):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        problems.append(f"{name}={raw!r} is not a number")
        return default
    if not lo <= value <= hi:
        problems.append(f"{name}={value} must be between {lo} and {hi}")
    return value


def _bool(env, name, default, problems):
    raw = env.get(name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    problems.append(f"{name}={raw!r} must be one of true/false/1/0")
    return default


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Build a Config from an environment mapping (default: os.environ).

    Raises ConfigError listing *all* problems, so one restart fixes them all.
    """
    env = os.environ if env is None else env
    problems: list[str] = []

    version = env.get("APP_VERSION", Config.version).strip()
    if not _VERSION_RE.match(version):
        problems.append(
            f"APP_VERSION={version!r} must be 1-64 chars of [0-9A-Za-z._+-]"
        )
    commit = env.get("APP_COMMIT", Config.commit).strip()
    if not _COMMIT_RE.match(commit):
        problems.append(f"APP_COMMIT={commit!r} must be 1-64 chars of [0-9A-Za-z._-]")
    colour = env.get("APP_COLOUR", Config.colour).strip().lower()
    if colour not in COLOURS:
        problems.append(f"APP_COLOUR={colour!r} must be one of: {', '.join(COLOURS)}")
    log_level = env.get("LOG_LEVEL", Config.log_level).strip().upper()
    if log_level not in LOG_LEVELS:
        problems.append(
            f"LOG_LEVEL={log_level!r} must be one of: {', '.join(LOG_LEVELS)}"
        )

    items_table = env.get("ITEMS_TABLE", "").strip()
    if items_table and not _TABLE_RE.match(items_table):
        problems.append(
            f"ITEMS_TABLE={items_table!r} must be 3-255 chars of [A-Za-z0-9_.-]"
        )
    # Fargate sets AWS_REGION (and AWS_DEFAULT_REGION) in every task
    aws_region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip()
    if items_table and not aws_region:
        problems.append("ITEMS_TABLE is set but neither AWS_REGION nor AWS_DEFAULT_REGION")
    workers = _int(env, "WORKERS", Config.workers, 0, 64, problems)
    if workers > 1 and not items_table:
        problems.append(
            f"WORKERS={workers} needs ITEMS_TABLE: the in-memory store is per process, "
            "so each worker would serve a different list"
        )

    xray_daemon_address = env.get("AWS_XRAY_DAEMON_ADDRESS", "").strip()
    if xray_daemon_address:
        try:
            parse_daemon_address(xray_daemon_address)
        except ValueError as exc:
            problems.append(f"AWS_XRAY_DAEMON_ADDRESS={xray_daemon_address!r} {exc}")
    # X-Ray segment names: https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html
    xray_tracing_name = env.get("AWS_XRAY_TRACING_NAME", "").strip() or Config.xray_tracing_name
    if not _SEGMENT_NAME_RE.match(xray_tracing_name):
        problems.append(f"AWS_XRAY_TRACING_NAME={xray_tracing_name!r} must be 1-200 chars of letters, digits, "
                        "white space and _.:/%&#=+\\-@")

    cfg = Config(
        port=_int(env, "PORT", Config.port, 1, 65535, problems),
        version=version,
        commit=commit,
        colour=colour,
        log_level=log_level,
        threads=_int(env, "THREADS", Config.threads, 0, 64, problems),
        drain_seconds=_float(
            env, "DRAIN_SECONDS", Config.drain_seconds, 0, 300, problems
        ),
        graceful_timeout=_float(
            env, "GRACEFUL_TIMEOUT", Config.graceful_timeout, 1, 600, problems
        ),
        max_body_bytes=_int(
            env, "MAX_BODY_BYTES", Config.max_body_bytes, 256, 1048576, problems
        ),
        max_items=_int(env, "MAX_ITEMS", Config.max_items, 1, 1000000, problems),
        test_endpoints=_bool(
            env, "APP_TEST_ENDPOINTS", Config.test_endpoints, problems
        ),
        items_table=items_table,
        aws_region=aws_region,
        workers=workers,
        xray_daemon_address=xray_daemon_address,
        xray_tracing_name=xray_tracing_name,
        xray_sampling_rate=_float(env, "XRAY_SAMPLING_RATE", Config.xray_sampling_rate, 0, 1, problems),
        xray_sampling_reservoir=_int(env, "XRAY_SAMPLING_RESERVOIR", Config.xray_sampling_reservoir, 0, 100000, problems),
    )
    if problems:
        raise ConfigError(problems)
    return cfg
