"""The fast path for playbooks run on one machine: mitogen's ``mitogen_linear`` strategy, one botocore
loader per interpreter, no CPU pinning by mitogen, the installed collections listed once per run, one module
interpreter per inventory host, compiled templates kept on disk, and the rest of tools/fastpath_site's hooks (its
docstring lists them all, the plugins the workers load loaded by the controller among them).

    eval "$(python tools/fastpath.py)"           # export it into a shell (the Makefile's FAST=1 does)
    python tools/fastpath.py --measure           # botocore clients per second, with and without the cache

The tests (tests/conftest.py), ``make demo``/``make destroy`` and bench/converge take their environment from
:func:`environment`, so the three agree (``make molecule`` too, for its bluegreen-ecs scenario). The collection
itself needs neither: molecule's bluegreen scenario, the installed-collection test and the AWX tests run Ansible's
stock strategy as a user without mitogen does.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent / "fastpath_site"
SERVICES = ("ec2", "elbv2", "ecs", "logs", "cloudwatch", "iam", "ecr", "codedeploy", "application-autoscaling",
            "sns", "dynamodb", "sts")


def environment(strategy: str = "mitogen_linear", base: dict | None = None) -> dict:
    """What to add to ``base`` (default: this process's environment) to run ansible-playbook under ``strategy``:
    ``linear`` adds nothing; a mitogen strategy adds its plugin directory and the botocore cache."""
    if not strategy.startswith("mitogen"):
        return {"ANSIBLE_STRATEGY": strategy}
    import ansible_mitogen  # pylint: disable=import-outside-toplevel

    base = os.environ if base is None else base
    pythonpath = os.pathsep.join(p for p in (str(SITE), base.get("PYTHONPATH", "")) if p)
    return {"ANSIBLE_STRATEGY": strategy,
            "ANSIBLE_STRATEGY_PLUGINS": str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"),
            "PYTHONPATH": pythonpath}


def _clients_per_second(cached: bool, rounds: int = 4) -> float:
    code = ("import time, boto3\n"
            f"services = {SERVICES!r}\n"
            "start = time.perf_counter()\n"
            f"for _ in range({rounds}):\n"
            "    for name in services:\n"
            "        boto3.session.Session(region_name='us-east-1').client(name, endpoint_url='http://127.0.0.1:9')\n"
            "print(time.perf_counter() - start)\n")
    env = dict(os.environ, PYTHONPATH=str(SITE) if cached else "")
    seconds = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    return rounds * len(SERVICES) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="mitogen_linear")
    parser.add_argument("--measure", action="store_true", help="time botocore clients with and without the cache")
    args = parser.parse_args()
    if args.measure:
        plain, cached = _clients_per_second(False), _clients_per_second(True)
        print(f"botocore clients per second: {plain:.1f} new loader each, {cached:.1f} shared loader "
              f"({cached / plain:.1f}x)")
        return 0
    for name, value in environment(args.strategy).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
