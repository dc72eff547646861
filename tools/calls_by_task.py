"""Where a playbook run's AWS calls and time go: each call of the local endpoint's log, put on the task
that was running when it was made.

    eval "$(python -m localaws env)"
    python tools/calls_by_task.py playbooks/site.yml [ansible-playbook arguments...]

Runs the playbook with the JSON callback (task start and end times), reads the endpoint's call log
(``/_localaws/calls``, each call with its ``time``) and prints, per task, its duration, its calls and
their actions, most calls first, then the totals. Calls made between tasks (none expected) are listed
apart. One host at a time: run several stacks with ``--limit``.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()  # Python 3.11 reads the Z


def _calls(url: str, method: str = "GET") -> list[dict]:
    with urllib.request.urlopen(urllib.request.Request(url + "/_localaws/calls", method=method), timeout=30) as resp:
        return json.load(resp)


def attribute(plays: list[dict], calls: list[dict]) -> tuple[list[dict], list[dict]]:
    """Tasks as ``{name, seconds, calls: [...]}`` in run order, and the calls made outside every task."""
    tasks = []
    for play in plays:
        for task in play.get("tasks", []):
            duration = task["task"].get("duration", {})
            if "start" in duration and "end" in duration:
                tasks.append({"name": task["task"]["name"], "start": _epoch(duration["start"]),
                              "end": _epoch(duration["end"]), "calls": []})
    outside = []
    for call in calls:
        owner = next((t for t in tasks if t["start"] <= call["time"] <= t["end"]), None)
        (owner["calls"] if owner else outside).append(call)
    for task in tasks:
        task["seconds"] = task["end"] - task["start"]
    return tasks, outside


def report(tasks: list[dict], outside: list[dict]) -> str:
    lines = [f"{'calls':>5} {'seconds':>7}  task  (actions)"]
    for task in sorted(tasks, key=lambda t: (-len(t["calls"]), -t["seconds"])):
        actions = collections.Counter(f"{c['service']}:{c['action']}" for c in task["calls"])
        listed = ", ".join(f"{a} x{n}" if n > 1 else a for a, n in actions.most_common())
        lines.append(f"{len(task['calls']):5d} {task['seconds']:7.2f}  {task['name']}" + (f"  ({listed})" if listed else ""))
    total_calls = sum(len(t["calls"]) for t in tasks)
    total_seconds = sum(t["seconds"] for t in tasks)
    with_calls = sum(1 for t in tasks if t["calls"])
    lines.append(f"{total_calls:5d} {total_seconds:7.2f}  total: {len(tasks)} tasks, {with_calls} of them calling AWS")
    if outside:
        lines.append(f"{len(outside):5d}          calls outside every task: "
                     + ", ".join(sorted({f"{c['service']}:{c['action']}" for c in outside})))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit(__doc__)
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        sys.exit("AWS_ENDPOINT_URL is not set: eval \"$(python -m localaws env)\" first")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    _calls(url, "DELETE")
    proc = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    calls = _calls(url)
    try:
        plays = json.loads(proc.stdout[proc.stdout.index("{"):])["plays"]
    except (ValueError, KeyError):
        sys.exit(f"no JSON result from ansible-playbook (rc {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    print(report(*attribute(plays, calls)))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
