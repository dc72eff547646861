"""Keep each role's README variable table generated from its meta/argument_specs.yml.

    python tools/role_docs.py          rewrite the tables
    python tools/role_docs.py --check  exit 1 if a table is stale, or if a role's
                                       defaults/main.yml and argument spec differ

The table sits between ``<!-- BEGIN VARIABLES -->`` and ``<!-- END VARIABLES -->``
in ``roles/<role>/README.md`` (created with a short skeleton when missing).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN VARIABLES -->", "<!-- END VARIABLES -->"


def _cell(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    # O(seed.fargate.role#role:entry:option) (a reference to another role's option) reads as the option's name
    text = re.sub(r"[IOCV]\((?:[^)#]*#[^):]*:[^):]*:)?([^)]*)\)", r"`\1`", text)
    return text.replace("|", "\\|").replace("\n", " ")


def _kind(option: dict) -> str:
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        kind = f"list of {option['elements']}"
    if option.get("choices"):
        kind += " (" + ", ".join(str(c) for c in option["choices"]) + ")"
    return kind


def _default(option: dict, computed=None) -> str:
    """The spec's default; else the value of defaults/main.yml (a Jinja expression the spec cannot hold); else none."""
    if option.get("required"):
        return "required"
    if "default" in option:
        return f"`{_cell(option['default'])}`"
    if computed is not None:
        return f"`{_cell(computed)}`"
    return ""


def _description(option: dict) -> str:
    description = option.get("description", "")
    if isinstance(description, list):
        description = " ".join(description)
    return _cell(description)


def table(spec: dict, defaults: dict | None = None) -> str:
    rows = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, option in spec.get("options", {}).items():
        default = _default(option, (defaults or {}).get(name))
        rows.append(f"| `{name}` | {_kind(option)} | {default} | {_description(option)} |")
    return "\n".join(rows)


def role_problems(role: Path, write: bool) -> list[str]:
    spec_file = role / "meta" / "argument_specs.yml"
    if not spec_file.exists():
        return [f"{role.name}: no meta/argument_specs.yml"]
    specs = yaml.safe_load(spec_file.read_text())["argument_specs"]
    problems = []
    defaults_file = role / "defaults" / "main.yml"
    default_values = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    defaults = set(default_values)
    documented = set(specs["main"].get("options", {}))
    for name in sorted(defaults - documented):
        problems.append(f"{role.name}: {name} is in defaults/main.yml but not in the argument spec")
    for name in sorted(documented - defaults):
        if not specs["main"]["options"][name].get("required"):
            problems.append(f"{role.name}: {name} is in the argument spec but has no default in defaults/main.yml")

    sections = [f"### Entry point `{entry}`\n\n{spec.get('short_description', '')}\n\n{table(spec, default_values)}"
                for entry, spec in specs.items()]
    block = f"{BEGIN}\n" + "\n\n".join(sections) + f"\n{END}"
    readme = role / "README.md"
    text = readme.read_text() if readme.exists() else (
        f"# seed.fargate.{role.name}\n\n{specs['main'].get('short_description', '')}\n\n## Variables\n\n{BEGIN}\n{END}\n")
    if BEGIN not in text:
        text += f"\n## Variables\n\n{BEGIN}\n{END}\n"
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.DOTALL)
    if new != text or not readme.exists():
        if write:
            readme.write_text(new)
        else:
            problems.append(f"{role.name}: README.md variable table is stale (run python tools/role_docs.py)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    problems = []
    for role in sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir()):
        problems += role_problems(role, write=not args.check)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
