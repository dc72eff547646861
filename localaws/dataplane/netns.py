"""awsvpc networking for local tasks: one network namespace and one address per task.

AWS gives every awsvpc task its own elastic network interface and private IP
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-networking-awsvpc.html),
so two tasks of a service listen on the same container port. Here each endpoint
process owns one Linux bridge ``lawsbr<slot>`` holding the gateway address
``<subnet>.1`` of one /24 carved from ``LOCALAWS_TASK_CIDR`` (default
10.213.0.0/16, slot = the first /24 no live endpoint holds); each task gets a
namespace ``laws<slot>-<n>`` with a veth ``eth0`` on that bridge and the next
free address. The namespaces get no default route and the host forwards
nothing, so a task reaches only its /24 (the other tasks and the gateway, where
:class:`EndpointRelay` serves the local endpoint) and its own loopback.

The bridge's alias records the owner's pid, so an endpoint that was killed
leaves nothing behind: the next one to start removes bridges and namespaces whose
owner is gone (:func:`clean_stale`).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import subprocess
import threading
from pathlib import Path

LOG = logging.getLogger("localaws.dataplane.netns")
DEFAULT_CIDR = "10.213.0.0/16"
BRIDGE_PREFIX = "lawsbr"
NETNS_DIR = Path("/run/netns")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], check=False, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def task_cidr() -> ipaddress.IPv4Network:
    return ipaddress.ip_network(os.environ.get("LOCALAWS_TASK_CIDR", DEFAULT_CIDR), strict=False)


def _bridges() -> dict[int, int | None]:
    """slot -> owner pid (None when the alias is unreadable) of every bridge of ours."""
    found: dict[int, int | None] = {}
    for line in _ip("-o", "link", "show", "type", "bridge").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if not name.startswith(BRIDGE_PREFIX) or not name[len(BRIDGE_PREFIX):].isdigit():
            continue
        alias = ""
        if " alias " in line:
            alias = line.split(" alias ", 1)[1].strip()
        pid = int(alias.split("pid=", 1)[1].split()[0]) if "pid=" in alias else None
        found[int(name[len(BRIDGE_PREFIX):])] = pid
    return found


def _namespaces(slot: int) -> list[str]:
    prefix = f"laws{slot}-"
    names = [line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.strip()]
    return [name for name in names if name.startswith(prefix)]


def _remove_slot(slot: int) -> None:
    for name in _namespaces(slot):
        _ip("netns", "delete", name, check=False)
    _ip("link", "delete", f"{BRIDGE_PREFIX}{slot}", check=False)


def clean_stale() -> int:
    """Remove bridges and namespaces whose endpoint process is gone; returns how many slots."""
    removed = 0
    for slot, pid in _bridges().items():
        if pid is None or not _pid_alive(pid):
            _remove_slot(slot)
            removed += 1
    return removed


class TaskNetwork:
    """This endpoint's bridge and the namespaces of its tasks."""

    def __init__(self) -> None:
        self.cidr = task_cidr()
        subnets = list(self.cidr.subnets(new_prefix=24)) if self.cidr.prefixlen <= 24 else [self.cidr]
        self._subnets = subnets
        self.slot: int | None = None
        self.subnet: ipaddress.IPv4Network | None = None
        self.gateway: str = ""
        self._lock = threading.Lock()
        self._used: dict[str, str] = {}  # ip -> netns name
        self._counter = 0

    @property
    def bridge(self) -> str:
        return f"{BRIDGE_PREFIX}{self.slot}"

    def setup(self) -> None:
        clean_stale()
        taken = set(_bridges())
        for slot, subnet in enumerate(self._subnets):
            if slot in taken:
                continue
            name = f"{BRIDGE_PREFIX}{slot}"
            if _ip("link", "add", name, "type", "bridge", check=False).returncode != 0:
                continue  # another endpoint took it between the listing and now
            self.slot, self.subnet = slot, subnet
            self.gateway = str(subnet.network_address + 1)
            _ip("link", "set", name, "alias", f"localaws pid={os.getpid()}")
            _ip("addr", "add", f"{self.gateway}/{subnet.prefixlen}", "dev", name)
            _ip("link", "set", name, "up")
            LOG.info("task network %s on %s (gateway %s)", subnet, name, self.gateway)
            return
        raise RuntimeError(f"no free /24 left in LOCALAWS_TASK_CIDR={self.cidr}")

    def allocate(self) -> tuple[str, str]:
        """A new namespace wired to the bridge: (netns name, task IPv4 address)."""
        assert self.subnet is not None, "setup() first"
        with self._lock:
            ip = next((str(h) for h in list(self.subnet.hosts())[1:] if str(h) not in self._used), None)
            if ip is None:
                raise RuntimeError(f"no free address left in {self.subnet}")
            self._counter += 1
            name = f"laws{self.slot}-{self._counter}"
            self._used[ip] = name
        host_if = f"lv{self.slot}x{self._counter}"[:15]
        try:
            _ip("netns", "add", name)
            _ip("link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("link", "set", host_if, "master", self.bridge, "up")
            _ip("-n", name, "addr", "add", f"{ip}/{self.subnet.prefixlen}", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")
        except Exception:
            self.release(name)
            raise
        return name, ip

    def release(self, name: str) -> None:
        """Delete a task's namespace (its veth goes with it) and free its address."""
        _ip("netns", "delete", name, check=False)
        with self._lock:
            for ip, owner in list(self._used.items()):
                if owner == name:
                    del self._used[ip]

    def teardown(self) -> None:
        if self.slot is not None:
            _remove_slot(self.slot)
        with self._lock:
            self._used.clear()
        self.slot = None


class EndpointRelay:
    """A TCP relay from ``gateway:port`` to ``127.0.0.1:port``: the endpoint as tasks see it.

    The endpoint listens on loopback only; a task's loopback is its own, so the
    relay makes the endpoint reachable at the bridge's gateway address.
    """

    def __init__(self, listen_host: str, port: int, target_host: str = "127.0.0.1"):
        self.listen = (listen_host, port)
        self.target = (target_host, port)
        self._sock: socket.socket | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self.listen)
        sock.listen(128)
        sock.settimeout(0.5)
        self._sock = sock
        threading.Thread(target=self._accept, name="localaws-endpoint-relay", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock:
            self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()  # type: ignore[union-attr]
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        client.settimeout(None)

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)
        client.close()
        upstream.close()
