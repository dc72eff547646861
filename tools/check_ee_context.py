"""Check an execution environment build context (``ansible-builder create``) is complete.

    python tools/check_ee_context.py build/ee-context

`make build` runs it after ``ansible-builder create``: every collection artifact the context's
``_build/requirements.yml`` names is in the context, and that requirements file installs (offline:
the dependencies resolve to the collections already installed here, as an image build would fetch
them from Galaxy) with seed.fargate at galaxy.yml's version, so ``ansible-builder build`` would not
stop on a missing or stale artifact.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def problems(context: Path) -> list[str]:
    build = context / "_build"
    out = [f"{context}/Containerfile missing"] if not (context / "Containerfile").is_file() else []
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    files = [c["name"] for c in requirements.get("collections", []) if c.get("type") == "file"]
    out += [f"{name}: named in requirements.yml, not in the context" for name in files if not (build / name).is_file()]
    if not files:
        out.append("requirements.yml installs no collection artifact: seed.fargate would be missing")
    python = (build / "requirements.txt").read_text() if (build / "requirements.txt").is_file() else ""
    out += [f"{package}: not in the context's Python requirements" for package in ("boto3", "botocore")
            if package not in python]
    if out:
        return out
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([Path(sys.executable).with_name("ansible-galaxy"), "collection", "install", "--offline",
                               "-r", "requirements.yml", "-p", tmp], cwd=build, capture_output=True, text=True,
                              check=False, env={"PATH": "/usr/bin:/bin", "HOME": tmp})
        if proc.returncode:
            return [f"the context's requirements.yml does not install: {proc.stdout}{proc.stderr}"]
        manifest = Path(tmp) / "ansible_collections" / "seed" / "fargate" / "MANIFEST.json"
        if not manifest.is_file():
            return ["the context's requirements.yml installs no seed.fargate"]
        installed = json.loads(manifest.read_text())["collection_info"]["version"]
        if installed != version:
            out.append(f"the context installs seed.fargate {installed}, galaxy.yml says {version}")
    return out


def main() -> int:
    found = problems(Path(sys.argv[1]))
    for problem in found:
        print(f"execution environment context: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
