"""A real S3 endpoint (moto's server app) behind a request-counting, latency-adding WSGI middleware, and a
plain HTTP file server. Both listen on 127.0.0.1 only and stop when the fixture ends."""

from __future__ import annotations

import collections
import functools
import http.server
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

Environ = dict[str, Any]


@dataclass
class RequestLog:
    """Requests seen by the middleware, by kind: GET, LIST (a GET on a bucket with list-type), PUT, ..."""

    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    latency_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, *, latency_ms: float | None = None) -> None:
        with self.lock:
            self.counts.clear()
        if latency_ms is not None:
            self.latency_s = latency_ms / 1000.0

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)


def _kind(environ: Environ) -> str:
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    if method == "GET" and ("list-type" in query or path.strip("/").count("/") == 0):
        return "LIST"
    return method


class CountingMiddleware:
    """Counts every request by kind and sleeps ``latency_s`` before answering it.

    Writes of one key (PUT, POST, DELETE) are answered one at a time. S3 applies each write atomically,
    a conditional put (``If-None-Match: *``) included; moto checks the condition and then stores the
    object in separate steps, so two conditional puts answered by two server threads at once could both
    succeed (seen under load: two writers then both held the in-progress mark).
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], log: RequestLog) -> None:
        self.app = app
        self.log = log
        self._key_locks: collections.defaultdict[str, threading.Lock] = collections.defaultdict(
            threading.Lock
        )
        self._key_locks_lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.log.lock:
            self.log.counts[_kind(environ)] += 1
        if self.log.latency_s:
            time.sleep(self.log.latency_s)
        if environ["REQUEST_METHOD"] not in ("PUT", "POST", "DELETE"):
            return self.app(environ, start_response)
        with self._key_locks_lock:
            key_lock = self._key_locks[environ.get("PATH_INFO", "")]
        with key_lock:
            return self.app(environ, start_response)


@dataclass
class S3Server:
    endpoint: str
    log: RequestLog
    bucket: str

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint,
            "key": "testing",
            "secret": "testing",
            "region": "us-east-1",
            **extra,
        }

    def client(self) -> Any:
        """A boto3 S3 client for this endpoint (listing and uploading around the code under test)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )


@functools.cache
def _moto_app() -> Any:
    from moto.server import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def start_s3(bucket: str = "nwb") -> Iterator[S3Server]:
    """Serve moto's S3 on a free 127.0.0.1 port behind the counting middleware; create *bucket*."""
    log = RequestLog()
    server = make_server("127.0.0.1", 0, CountingMiddleware(_moto_app(), log), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    try:
        s3 = S3Server(endpoint, log, bucket)
        s3.client().create_bucket(Bucket=bucket)
        yield s3
    finally:
        server.shutdown()
        thread.join(timeout=10)


def upload_folder(server: S3Server, folder: Path, prefix: str) -> None:
    """Copy a local store folder into the bucket under *prefix* (as a user would upload a file)."""
    client = server.client()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), server.bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")


def start_http(folder: Path) -> Iterator[str]:
    """Serve *folder* read-only over HTTP on a free 127.0.0.1 port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
