"""services/<service>/prune-rootfs.sh: one script, a copy in each build context (a Docker build sees
only its own context), so the copies must not drift. What the script does is tested through the
images it prunes (test_images.py: size goals, health checks, entrypoints on a read-only root)."""

from __future__ import annotations

from svc_helpers import API_DIR, WEB_DIR


def test_prune_rootfs_copies_are_identical():
    api, web = (API_DIR / "prune-rootfs.sh").read_bytes(), (WEB_DIR / "prune-rootfs.sh").read_bytes()
    assert api == web, "services/api/prune-rootfs.sh and services/web/prune-rootfs.sh differ: edit one, copy it to the other"


def test_prune_rootfs_is_in_each_build_context():
    for service in (API_DIR, WEB_DIR):
        ignore = (service / ".dockerignore").read_text().splitlines()
        assert "!prune-rootfs.sh" in ignore, f"{service / '.dockerignore'} leaves prune-rootfs.sh out of the build context"
        assert "prune-rootfs.sh" in (service / "Dockerfile").read_text()
