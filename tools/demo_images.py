"""Build the demo's api and web images once, tag the release versions, push them to the local ECR.

    python tools/demo_images.py build                       # build (cached), tag every version
    python tools/demo_images.py push --versions v1,v2       # + push them to the endpoint's ECR
                                                            #   (AWS_ENDPOINT_URL or --endpoint-url)

Caching: the images are tagged ``localhost/seed-fargate-<service>:src-<hash>``, the hash covering
every build input (the services' sources, the build script, the base Containerfiles). While both
exist, ``build`` does not run ``services/scripts/build-images.sh`` again, so a second ``make demo``
with unchanged sources builds nothing.

Versions are thin layers over the built images that change only the image's environment, the
way a release differs from the one before it without a rebuild of everything:

* ``v1``, ``v2``: ``APP_VERSION`` 1.0.0 / 2.0.0 (the API reports it on ``/api/version``, the page
  shows it). The task definition must not set ``APP_VERSION`` (the stack does not), or it wins.
* ``v3``: a release whose health check fails: the API listens on 8001 while the task definition,
  the target group and the container health check use 8000 (a port mismatch, a classic first
  deployment bug).
* ``v4``: a release that answers 5xx on ``/api/items``: its DynamoDB endpoint
  (``AWS_ENDPOINT_URL_DYNAMODB``, which botocore prefers over ``AWS_ENDPOINT_URL``) points at a
  closed port, so every store call fails (503) while ``/api/health`` stays 200.

The web image of every version is the same build with ``APP_VERSION`` set (nginx ignores it), so
that ``deploy.yml -e deploy_image_tag=vN`` finds the tag for both services.

``build`` also builds the local X-Ray daemon (``services/xray-daemon``, on the api's Python base; its own source
hash) and tags it ``localhost/seed-xray-daemon:latest``: ``stack_tracing.daemon_image`` on the local endpoint,
which cannot pull AWS's daemon from public.ecr.aws (docs/tracing.md). It is not pushed: the data plane runs
``localhost/...`` images as they are.

Every buildah/podman call uses the project's container store (``services/scripts/engine-env.sh``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "services"
BUILD_SCRIPT = SERVICES / "scripts" / "build-images.sh"
ENGINE_ENV = SERVICES / "scripts" / "engine-env.sh"
NAMES = {"api": "localhost/seed-fargate-api", "web": "localhost/seed-fargate-web"}
# Build inputs; generated or installed trees are not inputs.
INPUTS = [SERVICES / "api", SERVICES / "web", SERVICES / "scripts" / "base", BUILD_SCRIPT]
# The X-Ray daemon stand-in: its own inputs, so a change to it does not rebuild the api and web images.
DAEMON_DIR = SERVICES / "xray-daemon"
DAEMON_NAME = "localhost/seed-xray-daemon"
DAEMON_IMAGE = f"{DAEMON_NAME}:latest"  # what stack_tracing.daemon_image names on the local endpoint
PYTHON_BASE = "localhost/seed-python:3.11-bookworm"  # made by build-images.sh
CA_BUNDLE = os.environ.get("CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
SKIP = {"node_modules", "dist", "__pycache__", ".pytest_cache", ".cache", ".ruff_cache"}

# version -> environment added to the api image (web: APP_VERSION only)
VERSIONS: dict[str, dict[str, str]] = {
    "v1": {"APP_VERSION": "1.0.0"},
    "v2": {"APP_VERSION": "2.0.0"},
    "v3": {"APP_VERSION": "3.0.0", "PORT": "8001"},
    "v4": {"APP_VERSION": "4.0.0", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"},
}


class ImageError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[demo-images {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def engine_env() -> dict[str, str]:
    """os.environ plus the project's container store settings (sourcing engine-env.sh)."""
    keys = ("SEED_CONTAINERS_DIR", "CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF")
    script = 'source "$1" >/dev/null && printf "%s\\0" ' + " ".join(f'"${k}"' for k in keys)
    out = subprocess.run(["bash", "-c", script, "engine-env", str(ENGINE_ENV)], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise ImageError(f"engine-env.sh failed: {out.stderr.strip()}")
    return dict(os.environ, **dict(zip(keys, out.stdout.split("\0"), strict=False)))


def _engine(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(args), capture_output=True, text=True, env=env, check=False)
    if check and proc.returncode != 0:
        raise ImageError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.strip()}")
    return proc


def source_hash(inputs: list[Path] | None = None) -> str:
    """sha256 over the build inputs' relative paths and contents (16 hex digits)."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for item in INPUTS if inputs is None else inputs:
        if item.is_file():
            files.append(item)
            continue
        for dirpath, dirnames, filenames in os.walk(item):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
            files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith((".pyc", ".seed-lock-sha256")))
    for path in sorted(files):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def image_exists(env: dict[str, str], ref: str) -> bool:
    return _engine(env, "podman", "image", "exists", ref, check=False).returncode == 0


def version_ref(service: str, version: str, src: str) -> str:
    return f"{NAMES[service]}:{version}-{src}"


def build(versions: list[str], env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Build (or reuse) the images; returns {version: {service: local image ref}}."""
    env = env or engine_env()
    unknown = [v for v in versions if v not in VERSIONS]
    if unknown:
        raise ImageError(f"unknown versions {unknown}; known: {sorted(VERSIONS)}")
    src = source_hash()
    base = {svc: f"{name}:src-{src}" for svc, name in NAMES.items()}
    if all(image_exists(env, ref) for ref in base.values()):
        log(f"images of sources {src} are built already: {', '.join(base.values())}")
    else:
        log(f"building the api and web images of sources {src} (services/scripts/build-images.sh)")
        proc = subprocess.run(["bash", str(BUILD_SCRIPT)], env=dict(env, API_TAG=base["api"], WEB_TAG=base["web"]),
                              check=False)
        if proc.returncode != 0:
            raise ImageError(f"{BUILD_SCRIPT.relative_to(ROOT)} failed ({proc.returncode}); its output is above")
    refs: dict[str, dict[str, str]] = {}
    for version in versions:
        refs[version] = {}
        for service in NAMES:
            ref = version_ref(service, version, src)
            refs[version][service] = ref
            if image_exists(env, ref):
                continue
            extra = VERSIONS[version] if service == "api" else {"APP_VERSION": VERSIONS[version]["APP_VERSION"]}
            log(f"tagging {ref} ({', '.join(f'{k}={v}' for k, v in extra.items())})")
            ctr = _engine(env, "buildah", "from", "--pull=never", base[service]).stdout.strip()
            try:
                config = ["buildah", "config", "--label", f"seed.demo-version={version}"]
                for key, value in extra.items():
                    config += ["--env", f"{key}={value}"]
                _engine(env, *config, ctr)
                _engine(env, "buildah", "commit", "--quiet", "--format", "docker", ctr, ref)
            finally:
                _engine(env, "buildah", "rm", ctr, check=False)
    build_daemon(env)
    prune(env, src)
    return refs


def build_daemon(env: dict[str, str]) -> str:
    """Build (or reuse) the X-Ray daemon image, tag it :data:`DAEMON_IMAGE`, and return that name."""
    ref = f"{DAEMON_NAME}:src-{source_hash([DAEMON_DIR])}"
    if image_exists(env, ref):
        log(f"the X-Ray daemon image is built already: {ref}")
    else:
        log(f"building the X-Ray daemon image {ref} (services/xray-daemon)")
        _engine(dict(env, BUILDAH_ISOLATION="chroot"), "buildah", "bud", "--quiet", "--format", "docker",
                "--isolation", "chroot", "--network", "host", "--layers=false",
                "-v", f"{CA_BUNDLE}:/etc/ssl/certs/ca-certificates.crt:ro", "--build-arg", f"BASE_IMAGE={PYTHON_BASE}",
                "--build-arg", "PIP_CERT=/etc/ssl/certs/ca-certificates.crt", "-t", ref, str(DAEMON_DIR))
    _engine(env, "podman", "tag", ref, DAEMON_IMAGE)
    return DAEMON_IMAGE


def prune(env: dict[str, str], src: str) -> None:
    """Untag the demo images of other source hashes (the vfs store keeps a full copy of each)."""
    listed = _engine(env, "podman", "images", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout.split()
    stale = [ref for ref in listed if ref.rsplit(":", 1)[0] in NAMES.values()
             and "-" in ref.rsplit(":", 1)[1] and not ref.endswith(f"-{src}")]
    daemon = f"{DAEMON_NAME}:src-{source_hash([DAEMON_DIR])}"
    stale += [ref for ref in listed if ref.startswith(f"{DAEMON_NAME}:src-") and ref != daemon]
    if stale:
        log(f"removing {len(stale)} images of older sources")
        _engine(env, "podman", "rmi", "--ignore", *stale, check=False)


def push(refs: dict[str, dict[str, str]], stack: str = "seed", endpoint_url: str | None = None,
         region: str | None = None) -> list[str]:
    """Push every version to ``<stack>/<service>`` in the endpoint's ECR (repositories created when missing:
    the ecr role converges their settings). Returns the pushed ``repository:tag@digest`` lines."""
    import boto3

    sys.path.insert(0, str(ROOT))
    from localaws.dataplane.images import push_image

    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint_url:
        raise ImageError("no endpoint: set AWS_ENDPOINT_URL (eval \"$(python -m localaws env)\") or --endpoint-url")
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    os.environ.update(engine_env())  # push_image's podman calls read the store settings from our environment
    ecr = boto3.client("ecr", endpoint_url=endpoint_url, region_name=region,
                       aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                       aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    pushed = []
    for version, services in refs.items():
        for service, ref in services.items():
            repository = f"{stack}/{service}"
            try:
                ecr.create_repository(repositoryName=repository)
                log(f"created ECR repository {repository}")
            except ecr.exceptions.RepositoryAlreadyExistsException:
                pass
            image = push_image(ref, repository, version, ecr_client=ecr)
            pushed.append(f"{repository}:{version}@{image['imageId']['imageDigest']}")
            log(f"pushed {ref} -> {pushed[-1]}")
    return pushed


def require_dataplane(endpoint_url: str) -> None:
    """ImageError unless the endpoint answers the data plane's listeners route."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{endpoint_url}/_localaws/dataplane/listeners", timeout=10):
            return
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise ImageError(f"{endpoint_url}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise ImageError(f"no endpoint at {endpoint_url!r}: {exc}") from exc
    raise ImageError(f"the endpoint at {endpoint_url} runs without the data plane, so no task would start: "
                     "stop it (make down) and start it again with the data plane (make up, DATAPLANE=1)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/demo_images.py", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("command", choices=["build", "push", "hash"])
    parser.add_argument("--versions", default="v1,v2", help="comma-separated, of " + ",".join(VERSIONS))
    parser.add_argument("--stack", default="seed", help="stack_name: repositories are <stack>/<service>")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--region")
    parser.add_argument("--require-dataplane", action="store_true",
                        help="fail unless the endpoint runs the data plane (tasks would never start otherwise)")
    args = parser.parse_args(argv)
    if args.command == "hash":
        print(source_hash())
        return 0
    try:
        if args.command == "push" and args.require_dataplane:
            require_dataplane(args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL", ""))
        refs = build([v.strip() for v in args.versions.split(",") if v.strip()])
        if args.command == "push":
            for line in push(refs, args.stack, args.endpoint_url, args.region):
                print(line)
        else:
            for version, services in refs.items():
                print(version, " ".join(services.values()))
            print("xray-daemon", DAEMON_IMAGE)
    except ImageError as exc:
        print(f"demo-images: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
