"""A LocalServer (tests/localserver.py) that also answers HEAD and POST and keeps request bodies."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.localserver import LocalServer, _Handler, _Server


class _PostHandler(_Handler):
    def do_HEAD(self) -> None:
        owner = self.server.owner
        reply = owner._take(self.path, {k.lower(): v for k, v in self.headers.items()})
        self.send_response(404 if reply is None else (reply.status or 200))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        owner = self.server.owner
        assert isinstance(owner, PostServer)
        with owner.body_lock:
            owner.bodies.setdefault(self.path, []).append(body)
        self.do_GET()


class PostServer(LocalServer):
    """LocalServer plus `bodies[path]`: the raw bodies POSTed to each path, in order."""

    def __init__(self) -> None:
        super().__init__()
        self._httpd.server_close()
        self._httpd = _Server(("127.0.0.1", 0), _PostHandler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self.bodies: dict[str, list[bytes]] = {}
        self.body_lock = threading.Lock()


@pytest.fixture
def post_server() -> Iterator[PostServer]:
    """A started PostServer, stopped after the test."""
    server = PostServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
