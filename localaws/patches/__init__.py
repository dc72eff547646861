"""Fill moto's gaps, following AWS's documented behaviour.

Each module here has ``apply()`` (attach or wrap methods on moto's response
and backend classes, idempotently) and may have ``reset()`` for state kept
outside moto's backends. ``docs/local-endpoint.md`` lists what each emulates.
"""

from __future__ import annotations

import importlib

MODULES = ("ec2", "ecs", "elbv2", "codebuild", "codepipeline", "codedeploy", "cloudwatch_obs", "budgets",
           "ecs_platform", "ecs_bluegreen", "elbv2_platform", "applicationautoscaling_platform",
           "ec2_platform", "dynamodb_platform", "servicediscovery", "cloudfront", "acm", "xray")

_applied = False


def _load():
    for name in MODULES:
        try:
            yield importlib.import_module(f"localaws.patches.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"localaws.patches.{name}":
                raise


def apply_all() -> None:
    global _applied
    if _applied:
        return
    for module in _load():
        module.apply()
    _applied = True


def reset_all() -> None:
    from localaws import dataplane, faults, latency

    for module in _load():
        reset = getattr(module, "reset", None)
        if reset:
            reset()
    faults.reset()  # back to LOCALAWS_FAULT_RATE / LOCALAWS_FAULT_SERVICES
    latency.reset()  # back to LOCALAWS_LATENCY_MS
    dataplane.reset_all()  # engines that run (data plane on) forget their state too
