"""A real HTTP server on 127.0.0.1 with programmable routes, for fetch and end-to-end tests.

Use the `local_server` fixture by binding it in a test module (or list "tests.localserver" in the root
conftest's `pytest_plugins`):

    from tests import localserver
    from tests.localserver import LocalServer, Reply

    local_server = localserver.local_server  # a plain binding, so ruff sees no unused import

    def test_feed(local_server):
        local_server.route("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})
        local_server.route("/flaky", Reply(status=503), Reply(body=b"ok"))  # one reply per hit; last repeats
        url = local_server.url("/feed.xml")          # "http://127.0.0.1:<port>/feed.xml"
        ...
        assert local_server.hits("/feed.xml") == 1
        assert local_server.requests("/feed.xml")[0]["user-agent"].startswith("huntbrief/")

`Reply` fields: `status`, `body` (bytes or str), `headers`; `etag` / `last_modified` (sent, and a request
whose If-None-Match / If-Modified-Since equals them exactly gets 304); `location` (a redirect; status
defaults to 302); `delay` (seconds before the status line); `chunk_delay` (seconds between 64 KiB body
chunks); `size` (a generated body of that many bytes); `gzip` (Content-Encoding: gzip); `no_length` (no
Content-Length: the body ends when the connection closes); `truncate` (declare the full length, send half,
then close).
Unrouted paths answer 404. `max_active` is the most requests the server handled at the same moment.
Each response closes its connection (HTTP/1.0), so a test's requests never share a socket.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Reply:
    """One programmed response; see the module docstring for what each field does."""

    body: bytes | str = b""
    status: int | None = None  # default 200, or 302 with a location
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    size: int | None = None
    gzip: bool = False
    no_length: bool = False
    truncate: bool = False

    def payload(self) -> bytes:
        """The bytes on the wire after any gzip."""
        raw = b"x" * self.size if self.size is not None else self.body
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        return gzip.compress(data) if self.gzip else data


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 serving programmed replies and counting what it receives."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[Reply, ...]] = {}
        self._requests: dict[str, list[dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._active = 0
        self.max_active = 0
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(self, path: str, *replies: Reply, **fields: Any) -> None:
        """Program `path` (matched with its query, else without): replies in turn, the last repeating,
        or one Reply built from keyword fields."""
        if replies and fields:
            raise TypeError("give Reply objects or Reply fields, not both")
        self._routes[path] = replies or (Reply(**fields),)

    def hits(self, path: str) -> int:
        """How many requests arrived for `path` (the routed key, or the raw path if unrouted)."""
        with self._lock:
            return len(self._requests.get(path, []))

    def requests(self, path: str) -> list[dict[str, str]]:
        """The headers (names lowercased) of every request for `path`, in arrival order."""
        with self._lock:
            return [dict(h) for h in self._requests.get(path, [])]

    def _take(self, raw_path: str, headers: dict[str, str]) -> Reply | None:
        """Record the request and pick its reply (None for an unrouted path)."""
        key = raw_path if raw_path in self._routes else raw_path.partition("?")[0]
        key = key if key in self._routes else raw_path
        with self._lock:
            seen = self._requests.setdefault(key, [])
            seen.append(headers)
            replies = self._routes.get(key)
            return replies[min(len(seen), len(replies)) - 1] if replies else None

    def _enter(self) -> None:
        with self._lock:
            self._active += 1
            self.max_active = max(self.max_active, self._active)

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up early (timeouts, size caps) are expected: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def do_GET(self) -> None:
        owner = self.server.owner
        reply = owner._take(self.path, {k.lower(): v for k, v in self.headers.items()})
        owner._enter()
        left = False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                owner._leave()

        try:
            self._respond(reply, answering=leave)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            leave()

    def _respond(self, reply: Reply | None, answering: Any = lambda: None) -> None:
        """Answer after the reply's delay; `answering` is called when the answer starts, so that
        `max_active` counts overlapping requests, not a client already sending its next request
        while this thread is still closing the previous answer's connection."""
        if reply is None:
            self.send_error(404)
            return
        time.sleep(reply.delay)
        answering()
        if self._not_modified(reply):
            self.send_response(304)
            self._validators(reply)
            self.end_headers()
            return
        payload = reply.payload()
        self.send_response(reply.status or (302 if reply.location else 200))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self._validators(reply)
        if reply.location:
            self.send_header("Location", reply.location)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        if not reply.no_length:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self._write(payload[: len(payload) // 2] if reply.truncate else payload, reply.chunk_delay)

    def _not_modified(self, reply: Reply) -> bool:
        etag, since = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        return bool(
            (reply.etag and etag == reply.etag) or (reply.last_modified and since == reply.last_modified)
        )

    def _validators(self, reply: Reply) -> None:
        if reply.etag:
            self.send_header("ETag", reply.etag)
        if reply.last_modified:
            self.send_header("Last-Modified", reply.last_modified)

    def _write(self, payload: bytes, chunk_delay: float) -> None:
        for start in range(0, len(payload), _CHUNK):
            if start and chunk_delay:
                time.sleep(chunk_delay)
            self.wfile.write(payload[start : start + _CHUNK])
        self.wfile.flush()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A started LocalServer, stopped after the test."""
    server = LocalServer().start()
    try:
        yield server
    finally:
        server.stop()
