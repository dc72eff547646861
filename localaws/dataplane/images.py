"""The local ECR: "push" a locally built image, and resolve a task definition's image.

AWS tasks pull ``<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` (or
``@sha256:<digest>``) from ECR. Here a push is two things:

* the local image gets the tag ``localhost/localaws-ecr/<repo>:<tag>`` in the
  project's container store, where the task runner finds it;
* the endpoint's ECR gets the image through ECR's own ``PutImage`` call, with a
  Docker v2 manifest built from ``podman image inspect`` (config digest = the
  image ID, layers = the image's layer diff IDs), so DescribeImages and
  BatchGetImage report the image with a digest.

A task definition image resolves to the local tag only when ECR has that tag (or
digest) in that repository, as a pull from AWS would need; anything else stops
the task with ``CannotPullContainerError``. Images named ``localhost/...`` are
used as they are (no ECR), which AWS has no equivalent for: a convenience for
tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaws.dataplane.podman import PodmanError, podman, podman_json

LOCAL_PREFIX = "localhost/localaws-ecr"
ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


class ImageNotFound(LookupError):
    """The image cannot be pulled; ``str()`` is the rest of ECS's CannotPullContainerError reason."""


@dataclass(frozen=True)
class EcrRef:
    account: str
    region: str
    repository: str
    tag: str | None
    digest: str | None


def parse_ecr_uri(image: str) -> EcrRef | None:
    match = ECR_URI.match(image)
    if not match:
        return None
    tag = match["tag"] or (None if match["digest"] else "latest")
    return EcrRef(match["account"], match["region"], match["repo"], tag, match["digest"])


def local_name(repository: str, tag: str) -> str:
    return f"{LOCAL_PREFIX}/{repository}:{tag}"


def image_manifest(local_ref: str) -> dict[str, Any]:
    """A Docker image manifest v2 schema 2 for a local image, from what podman knows of it."""
    info = podman_json("image", "inspect", local_ref)[0]
    layers = (info.get("RootFS") or {}).get("Layers") or []
    sizes = [int(h.get("size") or 0) for h in reversed(podman_json("history", "--format", "json", local_ref))
             if h.get("size")]
    if len(sizes) != len(layers):
        total = int(info.get("Size") or 0)
        sizes = [total // max(len(layers), 1)] * len(layers)
    config = json.dumps({"architecture": info.get("Architecture"), "os": info.get("Os"),
                         "config": info.get("Config"), "rootfs": info.get("RootFS")}, sort_keys=True)
    return {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": f"sha256:{info['Id']}"},
        # The diff IDs are digests of the uncompressed layer tars, hence the uncompressed media type.
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": size, "digest": digest}
                   for digest, size in zip(layers, sizes, strict=True)],
    }


def push_image(local_ref: str, repository: str, tag: str, *, endpoint_url: str | None = None,
               region: str | None = None, ecr_client: Any = None) -> dict[str, Any]:
    """Tag ``local_ref`` as the ECR image ``repository:tag`` and record it in the endpoint's ECR.

    ``endpoint_url`` / ``region`` default to ``AWS_ENDPOINT_URL`` / ``AWS_REGION`` (as the AWS
    SDKs read them); ``ecr_client`` may be given instead. The repository must exist
    (``docker push`` to a missing ECR repository fails too: RepositoryNotFoundException).
    Returns PutImage's ``image`` (registryId, repositoryName, imageId with imageDigest and imageTag).
    Pushing the same image and tag again is a no-op (ImageAlreadyExistsException swallowed).
    """
    try:
        manifest = image_manifest(local_ref)
    except PodmanError as exc:
        raise ImageNotFound(f"no local image {local_ref}: {exc.stderr}") from exc
    podman("tag", local_ref, local_name(repository, tag))
    if ecr_client is None:
        import boto3

        ecr_client = boto3.client(
            "ecr", endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
            region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    body = json.dumps(manifest, indent=3)
    # An image's digest is the sha256 of its manifest (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html,
    # imageDigest); without it moto hashes the layer digests only, so two images that differ only
    # in their config (e.g. ENV) would share one digest.
    digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    try:
        return ecr_client.put_image(repositoryName=repository, imageManifest=body, imageTag=tag,
                                    imageManifestMediaType=MANIFEST_V2, imageDigest=digest)["image"]
    except ecr_client.exceptions.ImageAlreadyExistsException:
        found = ecr_client.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])
        return found["images"][0]


def _ecr_tag_for(ref: EcrRef) -> str:
    """The tag in the endpoint's ECR that ``ref`` names (in-process: the endpoint's own backend)."""
    from moto.ecr.models import ecr_backends

    where = f"{ref.account}.dkr.ecr.{ref.region}.amazonaws.com/{ref.repository}"
    try:
        repo = ecr_backends[ref.account][ref.region].repositories[ref.repository]
    except KeyError:
        raise ImageNotFound(f"pull image manifest has been retried 1 time(s): failed to resolve ref "
                            f"{where}:{ref.tag or ref.digest}: repository {ref.repository} not found") from None
    for image in repo.images:
        tags = [t for t in (getattr(image, "image_tags", None) or [getattr(image, "image_tag", None)]) if t]
        if ref.tag and ref.tag in tags:
            return ref.tag
        if ref.digest and image.get_image_digest() == ref.digest and tags:
            return tags[0]
    wanted = f":{ref.tag}" if ref.tag else f"@{ref.digest}"
    raise ImageNotFound(f"pull image manifest has been retried 1 time(s): failed to resolve ref "
                        f"{where}{wanted}: {where}{wanted}: not found")


def resolve_image(image: str) -> str:
    """The local image a task definition's ``image`` runs, or :class:`ImageNotFound`.

    Runs inside the endpoint process (reads moto's ECR backend directly).
    """
    ref = parse_ecr_uri(image)
    if ref is not None:
        name = local_name(ref.repository, _ecr_tag_for(ref))
    elif image.startswith("localhost/"):
        name = image
    else:
        raise ImageNotFound(f"pull image manifest has been retried 1 time(s): failed to resolve ref {image}: "
                            "only images pushed to the local ECR (or named localhost/...) can run here")
    if podman("image", "exists", name, check=False).returncode != 0:
        raise ImageNotFound(f"pull image manifest has been retried 1 time(s): failed to resolve ref {image}: "
                            f"{image}: not found (no local image {name})")
    return name


_MOUNT_LOCK = threading.Lock()


def seed_volume(local_ref: str, container_path: str, host_dir: Path) -> bool:
    """Give an empty task volume the image's directory at ``container_path`` -- its contents, owner and
    mode -- when the image declares that path a ``VOLUME``; otherwise leave it as Fargate makes a bind
    mount: empty, root-owned, 0755. Returns whether it was seeded.

    Fargate does this for bind mounts (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html,
    "expose a path and its contents from a Dockerfile"): a non-root container can write to a task volume
    only when its image declares the path a VOLUME owned by (or writable for) its user.
    """
    declared = json.loads(podman("image", "inspect", "--format", "{{json .Config.Volumes}}", local_ref).stdout or "null")
    if container_path not in (declared or {}) or any(host_dir.iterdir()):
        return False
    with _MOUNT_LOCK:
        root = podman("image", "mount", local_ref).stdout.strip()
        try:
            source = Path(root) / container_path.lstrip("/")
            if source.is_dir():
                subprocess.run(["cp", "-a", f"{source}/.", str(host_dir)], check=True, capture_output=True)
                st = source.stat()
                os.chown(host_dir, st.st_uid, st.st_gid)
                os.chmod(host_dir, stat.S_IMODE(st.st_mode))
        finally:
            podman("image", "unmount", local_ref, check=False)
    return True
