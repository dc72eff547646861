"""A small stand-in for the AWS X-Ray daemon, for the local endpoint (which cannot pull public.ecr.aws).

It does what the daemon does for the stack's API (https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon.html):
listens on UDP 0.0.0.0:2000, takes datagrams in the daemon protocol -- a JSON header line
``{"format": "json", "version": 1}``, a newline, then one segment document
(https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-daemon) -- and sends them in
batches of up to 50 documents with PutTraceSegments, at least once a second while some wait. The AWS credentials,
region and endpoint come from the environment as for any AWS SDK (``AWS_ENDPOINT_URL`` on the local endpoint's
tasks); ``--region`` (the task definition's command), ``--bind`` and ``--endpoint`` as the real daemon's flags, its
other flags accepted and ignored. Segments are best effort, as with the real daemon: a full buffer drops the oldest,
a batch the service refuses is logged and dropped.

Not the real daemon: no TCP proxy for the SDKs' sampling calls (GetSamplingRules/GetSamplingTargets), no
PutTelemetryRecords, no buffer sizing by memory. Logs go to stdout (awslogs), in the real daemon's shape
("Successfully sent batch of N segments").
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import signal
import socket
import sys
import threading
import time

BATCH = 50  # PutTraceSegments documents per call, as the daemon sends them
FLUSH_EVERY = 1.0  # seconds: the longest a received segment waits
BUFFER = 10000  # documents held while the service cannot be reached; the oldest go first
MAX_DATAGRAM = 65536
HEADER = {"format": "json", "version": 1}
LOG = logging.getLogger("xray-daemon")


def parse_datagram(data: bytes) -> str:
    """The segment document of one datagram; ValueError says what is wrong with it."""
    head, sep, body = data.partition(b"\n")
    if not sep:
        raise ValueError("no header line")
    try:
        header = json.loads(head)
    except ValueError:
        raise ValueError("the header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != HEADER["format"] or header.get("version") != 1:
        raise ValueError(f"unknown header {head[:80]!r}")
    document = body.decode("utf-8").strip()
    if not document:
        raise ValueError("no segment document")
    return document


def parse_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not host:port")
    return host or "0.0.0.0", int(port)


class Daemon:
    def __init__(self, client, bind: tuple[str, int]):
        self.client = client
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(bind)
        self.sock.settimeout(0.5)
        self.pending: collections.deque[str] = collections.deque(maxlen=BUFFER)
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.dropped = 0

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def receive(self) -> None:
        while not self.stopping.is_set():
            try:
                data, _peer = self.sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                if self.stopping.is_set():
                    return
                raise
            try:
                document = parse_datagram(data)
            except ValueError as exc:
                LOG.warning("[Warn] dropped a datagram: %s", exc)
                continue
            with self.lock:
                if len(self.pending) == BUFFER:
                    self.dropped += 1
                self.pending.append(document)
                if len(self.pending) >= BATCH:
                    self.wake.set()

    def send(self) -> None:
        while True:
            self.wake.wait(FLUSH_EVERY)
            self.wake.clear()
            self.flush()
            if self.stopping.is_set():
                self.flush()
                return

    def flush(self) -> None:
        while True:
            with self.lock:
                batch = [self.pending.popleft() for _index in range(min(BATCH, len(self.pending)))]
                dropped, self.dropped = self.dropped, 0
            if dropped:
                LOG.warning("[Warn] buffer full: dropped %d segments", dropped)
            if not batch:
                return
            started = time.monotonic()
            try:
                answer = self.client.put_trace_segments(TraceSegmentDocuments=batch)
            except Exception as exc:  # noqa: BLE001 - best effort: log and go on, as the daemon does
                LOG.error("[Error] sending a batch of %d segments failed: %s", len(batch), exc)
                continue
            refused = answer.get("UnprocessedTraceSegments") or []
            for item in refused:
                LOG.error("[Error] segment %s refused: %s %s", item.get("Id"), item.get("ErrorCode"), item.get("Message"))
            LOG.info("[Info] Successfully sent batch of %d segments (%.3f seconds)", len(batch) - len(refused),
                     time.monotonic() - started)

    def run(self) -> None:
        sender = threading.Thread(target=self.send, name="sender", daemon=True)
        sender.start()
        try:
            self.receive()
        finally:
            self.stopping.set()
            self.wake.set()
            sender.join(30)
            self.sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xray-daemon", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("-n", "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    parser.add_argument("-b", "--bind", type=parse_address, default=("0.0.0.0", 2000))
    parser.add_argument("-e", "--endpoint", help="the X-Ray endpoint (default: the SDK's, AWS_ENDPOINT_URL)")
    parser.add_argument("-l", "--log-level", default="info", choices=["dev", "debug", "info", "warn", "error", "prod"])
    args, ignored = parser.parse_known_args(argv)
    logging.basicConfig(stream=sys.stdout, format="%(asctime)s %(message)s",
                        level={"dev": logging.DEBUG, "debug": logging.DEBUG, "warn": logging.WARNING,
                               "error": logging.ERROR}.get(args.log_level, logging.INFO))
    if ignored:
        LOG.info("[Info] ignoring options of the real daemon: %s", " ".join(ignored))
    if not args.region:
        LOG.error("[Error] no region: pass --region or set AWS_REGION")
        return 2
    import botocore.session

    client = botocore.session.get_session().create_client("xray", region_name=args.region,
                                                          endpoint_url=args.endpoint or None)
    daemon = Daemon(client, args.bind)

    def stop(_signum, _frame):
        daemon.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = daemon.address
    LOG.info("[Info] Initializing AWS X-Ray daemon (seed.fargate local stand-in); region %s, sending to %s",
             args.region, client.meta.endpoint_url)
    LOG.info("[Info] Listening on UDP %s:%d", host, port)
    daemon.run()
    LOG.info("[Info] stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
