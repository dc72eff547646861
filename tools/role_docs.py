"""Keep each role's README variable table, and docs/stack.md, generated from the argument specs.

    python tools/role_docs.py          rewrite the tables and docs/stack.md
    python tools/role_docs.py --check  exit 1 if a table or docs/stack.md is stale, if a role's
                                       defaults/main.yml and argument spec differ, or if a
                                       stack_* variable is read but not in the stack description spec

The table sits between ``<!-- BEGIN VARIABLES -->`` and ``<!-- END VARIABLES -->``
in ``roles/<role>/README.md`` (created with a short skeleton when missing).
docs/stack.md is generated whole from the ``description`` entry point of roles/stack
(every ``stack_*`` variable and the shared ones) and the fields of a ``stack_services``
entry (the ecs_service role's spec).
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


STACK_PAGE = Path("docs") / "stack.md"
# a stack_* variable, not a role variable that ends in one (codedeploy_stack_name) or a private one (_stack_x)
_STACK_VAR = re.compile(r"(?<![A-Za-z0-9_])stack_[a-z0-9_]+")
_COMMENT = re.compile(r"(^|\s)#(?!\}).*$")

STACK_INTRO = """\
A stack is described once, in the inventory (`group_vars` of the `stacks` group, or one host's
`host_vars` per stack: see `inventories/local` and `inventories/stacks-example`). Every role
reads it through its own role-prefixed variables, whose defaults name the variable below they come
from (column *Read by*); set a role variable (`network_vpc_cidr`, ...) to override it for one role only.
A default here is what the roles use when the variable is unset.

Check a stack description's types without any AWS call (the playbooks check `stack_name`,
`stack_region` and the retry settings themselves, and each role its own inputs):

```yaml
- hosts: stacks
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: seed.fargate.stack
        tasks_from: description
```
"""


def _stack_readers(root: Path, shared: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """stack_* variable (and each of ``shared``) -> what reads it: role variables (from their defaults), the
    playbooks and the roles' task files and templates."""
    pattern = re.compile("|".join([_STACK_VAR.pattern, *(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])"
                                                         for n in shared)]))
    readers: dict[str, set[str]] = {}
    for defaults_file in sorted(root.glob("roles/*/defaults/main.yml")):
        for name, value in (yaml.safe_load(defaults_file.read_text()) or {}).items():
            for var in pattern.findall(json.dumps(value)):
                readers.setdefault(var, set()).add(f"`{name}`")
    sources = [*root.glob("playbooks/*.yml"), *root.glob("roles/*/tasks/*.yml"), *root.glob("roles/*/templates/*")]
    for source in sorted(sources):
        if source.parts[-3] == "stack":
            continue  # the stack role's own checks
        text = "\n".join(_COMMENT.sub("", line) for line in source.read_text().splitlines())
        for var in pattern.findall(text):
            readers.setdefault(var, set()).add(str(source.relative_to(root)))
    return readers


def _suboption_rows(option: dict, prefix: str) -> list[str]:
    rows = []
    for name, sub in option.get("options", {}).items():
        default = _default(sub).replace("``", '`""`') or "unset"
        rows.append(f"| `{prefix}{name}` | {_kind(sub)} | {default} | {_description(sub)} |")
        if sub.get("options"):
            rows += _suboption_rows(sub, f"{prefix}{name}{'[].' if sub.get('type') == 'list' else '.'}")
    return rows


def stack_page(root: Path = ROOT) -> str:
    spec_file = root / "roles" / "stack" / "meta" / "argument_specs.yml"
    spec = yaml.safe_load(spec_file.read_text())["argument_specs"]["description"]
    services = yaml.safe_load((root / "roles" / "ecs_service" / "meta" / "argument_specs.yml").read_text())
    service_fields = services["argument_specs"]["main"]["options"]["ecs_service_services"]
    readers = _stack_readers(root, tuple(n for n in spec["options"] if not n.startswith("stack_")))
    lines = [
        "# The stack description",
        "",
        "<!-- Generated by tools/role_docs.py from roles/stack/meta/argument_specs.yml (entry point `description`)",
        "     and roles/ecs_service/meta/argument_specs.yml: edit those, then run python tools/role_docs.py -->",
        "",
        STACK_INTRO,
        "## Variables",
        "",
        "| Variable | Type | Default | Read by | Description |",
        "|---|---|---|---|---|",
    ]
    for name, option in spec["options"].items():
        read_by = ", ".join(sorted(readers.get(name, ())))
        default = _default(option).replace("``", '`""`') or "unset"
        lines.append(f"| `{name}` | {_kind(option)} | {default} | {read_by} | {_description(option)} |")
    for name, option in spec["options"].items():
        if option.get("options"):
            lines += ["", f"## Keys of `{name}`", "", "| Key | Type | Default | Description |", "|---|---|---|---|",
                      *_suboption_rows(option, "")]
    lines += ["", "## Fields of a `stack_services` entry", "",
              "Defined by the ecs_service role (`ecs_service_services`); the other roles read the fields they need.",
              "", "| Field | Type | Default | Description |", "|---|---|---|---|",
              *_suboption_rows(service_fields, "")]
    return "\n".join(lines) + "\n"


def stack_page_problems(root: Path, write: bool) -> list[str]:
    spec_file = root / "roles" / "stack" / "meta" / "argument_specs.yml"
    documented = set(yaml.safe_load(spec_file.read_text())["argument_specs"]["description"]["options"])
    problems = [f"stack: {var} is read ({', '.join(sorted(where))}) but not in the `description` entry point of "
                "roles/stack/meta/argument_specs.yml"
                for var, where in sorted(_stack_readers(root).items()) if var not in documented]
    page = root / STACK_PAGE
    text = stack_page(root)
    if not page.exists() or page.read_text() != text:
        if write:
            page.write_text(text)
        else:
            problems.append(f"{STACK_PAGE} is stale (run python tools/role_docs.py)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    problems = []
    for role in sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir()):
        problems += role_problems(role, write=not args.check)
    problems += stack_page_problems(ROOT, write=not args.check)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
