"""seed.fargate demo API: a small Bottle REST service run under granian (seedapi/server.py)."""

from seedapi.app import create_app
from seedapi.config import Config, ConfigError, load_config

__all__ = ["Config", "ConfigError", "create_app", "load_config"]
