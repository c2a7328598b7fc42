"""HttpxFetcher against a real local server; SSRF guard, retries, caps; OfflineFetcher; address helper."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from huntbrief import __version__
from huntbrief.adapters.fetch import (
    FetchPolicy,
    HttpxFetcher,
    OfflineFetcher,
    is_public_address,
    parse_retry_after,
)
from huntbrief.errors import FetchError
from huntbrief.model import FetchResult
from tests.localserver import LocalServer, Reply

T = TypeVar("T")
LOCAL = FetchPolicy(allow_private_networks=True, backoff_base=0.01, timeout=5.0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch(url: str, policy: FetchPolicy = LOCAL, **kwargs: Any) -> FetchResult:
    async with HttpxFetcher(policy) as fetcher:
        return await fetcher.fetch(url, **kwargs)


def fetch_error(url: str, policy: FetchPolicy = LOCAL, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        run(fetch(url, policy, **kwargs))
    return caught.value


# --- is_public_address / parse_retry_after (pure helpers) ---

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::",
]
NOT_PUBLIC = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1",
    "0.0.0.0", "255.255.255.255", "240.0.0.1", "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::", "2001:db8::1", "not-an-ip",
]  # fmt: skip


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_are_public(ip: str) -> None:
    assert is_public_address(ip)


@pytest.mark.parametrize("ip", NOT_PUBLIC)
def test_special_addresses_are_not_public(ip: str) -> None:
    assert not is_public_address(ip)


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=10), usegmt=True), now=now) == 10.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


# --- plain fetching ---


def test_200_with_headers_and_user_agent(local_server: LocalServer) -> None:
    local_server.route("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})
    result = run(fetch(local_server.url("/feed.xml")))
    assert (result.status, result.content, result.url) == (200, b"<rss/>", local_server.url("/feed.xml"))
    assert result.header("content-type") == "application/rss+xml"
    sent = local_server.requests("/feed.xml")[0]
    assert sent["user-agent"] == f"huntbrief/{__version__} (+https://github.com/huntbrief/huntbrief)"
    assert "gzip" in sent["accept-encoding"]


def test_gzip_body_is_decoded(local_server: LocalServer) -> None:
    local_server.route("/z", body=b"<rss>" + b"a" * 5000 + b"</rss>", gzip=True)
    assert run(fetch(local_server.url("/z"))).content == b"<rss>" + b"a" * 5000 + b"</rss>"


def test_client_error_is_not_retried(local_server: LocalServer) -> None:
    assert "HTTP 404" in str(fetch_error(local_server.url("/missing")))
    assert local_server.hits("/missing") == 1


# --- conditional GET ---


def test_etag_gives_304(local_server: LocalServer) -> None:
    local_server.route("/f", body=b"v1", etag='"abc"')
    first = run(fetch(local_server.url("/f")))
    assert first.header("etag") == '"abc"' and first.status == 200
    again = run(fetch(local_server.url("/f"), etag='"abc"'))
    assert again.not_modified and again.content == b""
    assert local_server.requests("/f")[1]["if-none-match"] == '"abc"'
    assert run(fetch(local_server.url("/f"), etag='"old"')).status == 200


def test_last_modified_gives_304(local_server: LocalServer) -> None:
    stamp = "Wed, 21 Oct 2026 07:28:00 GMT"
    local_server.route("/f", body=b"v1", last_modified=stamp)
    assert run(fetch(local_server.url("/f"))).header("last-modified") == stamp
    assert run(fetch(local_server.url("/f"), last_modified=stamp)).status == 304
    assert local_server.requests("/f")[1]["if-modified-since"] == stamp


# --- redirects ---


def test_redirect_chain_is_followed(local_server: LocalServer) -> None:
    local_server.route("/a", location="/b", status=301)
    local_server.route("/b", location=local_server.url("/c"))
    local_server.route("/c", body=b"end")
    result = run(fetch(local_server.url("/a")))
    assert (result.status, result.content, result.url) == (200, b"end", local_server.url("/c"))
    assert [local_server.hits(p) for p in ("/a", "/b", "/c")] == [1, 1, 1]


def test_too_many_redirects(local_server: LocalServer) -> None:
    for n in range(7):
        local_server.route(f"/r{n}", location=f"/r{n + 1}")
    local_server.route("/r7", body=b"end")
    assert run(fetch(local_server.url("/r2"))).content == b"end"  # exactly 5 hops is fine
    assert "too many redirects" in str(fetch_error(local_server.url("/r0")))
    assert local_server.hits("/r6") == 1  # the 6th hop was never requested in the failing run


def test_redirect_loop(local_server: LocalServer) -> None:
    local_server.route("/x", location="/y")
    local_server.route("/y", location="/x")
    assert "redirect loop" in str(fetch_error(local_server.url("/x")))


def test_redirect_without_location(local_server: LocalServer) -> None:
    local_server.route("/r", status=302)
    assert "without a Location" in str(fetch_error(local_server.url("/r")))


# --- SSRF guard and schemes ---


class Recorder:
    """An httpx transport that records requests instead of sending them."""

    def __init__(self, reply: httpx.Response | None = None) -> None:
        self.seen: list[str] = []
        self.reply = reply or httpx.Response(200, content=b"should not be fetched")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        return self.reply


async def guarded_fetch(url: str, transport: httpx.AsyncBaseTransport | None = None) -> FetchResult:
    async with HttpxFetcher(FetchPolicy(retries=0), transport=transport) as fetcher:
        return await fetcher.fetch(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_refused_without_connecting(local_server: LocalServer, host: str) -> None:
    local_server.route("/secret", body=b"secret")
    port = local_server.base_url.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match="refused"):
        run(guarded_fetch(f"http://{host}:{port}/secret"))
    assert local_server.hits("/secret") == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.8/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://100.64.1.1/",
    ],
)
def test_private_addresses_refused_before_any_request(url: str) -> None:
    recorder = Recorder()
    with pytest.raises(FetchError, match="refused"):
        run(guarded_fetch(url, httpx.MockTransport(recorder)))
    assert recorder.seen == []


def test_redirect_to_private_address_refused(local_server: LocalServer) -> None:
    local_server.route("/secret", body=b"secret")
    recorder = Recorder(httpx.Response(302, headers={"Location": local_server.url("/secret")}))
    with pytest.raises(FetchError, match="refused"):
        run(guarded_fetch("http://93.184.215.14/start", httpx.MockTransport(recorder)))
    assert recorder.seen == ["http://93.184.215.14/start"]
    assert local_server.hits("/secret") == 0


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/", "/relative"]
)
def test_non_http_schemes_refused(url: str) -> None:
    recorder = Recorder()
    with pytest.raises(FetchError, match="only http and https"):
        run(guarded_fetch(url, httpx.MockTransport(recorder)))
    assert recorder.seen == []


# --- limits: size, time, retries, broken transfers, concurrency ---

SMALL = FetchPolicy(allow_private_networks=True, max_bytes=100_000, retries=0)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(size=300_000),
        Reply(size=300_000, no_length=True),
        Reply(size=3_000_000, gzip=True, no_length=True),
    ],
    ids=["declared", "streamed", "gzip-bomb"],
)
def test_size_cap(local_server: LocalServer, reply: Reply) -> None:
    local_server.route("/big", reply)
    assert "response larger than 100000 bytes" in str(fetch_error(local_server.url("/big"), SMALL))


def test_body_at_the_cap_is_accepted(local_server: LocalServer) -> None:
    local_server.route("/ok", size=100_000, no_length=True)
    assert len(run(fetch(local_server.url("/ok"), SMALL)).content) == 100_000


@pytest.mark.parametrize(
    "reply", [Reply(delay=2.0), Reply(size=400_000, chunk_delay=0.2)], ids=["slow-start", "trickle"]
)
def test_slow_response_times_out(local_server: LocalServer, reply: Reply) -> None:
    local_server.route("/slow", reply)
    policy = FetchPolicy(allow_private_networks=True, timeout=0.3, retries=0)
    started = time.monotonic()
    assert "timed out" in str(fetch_error(local_server.url("/slow"), policy))
    assert time.monotonic() - started < 1.5


def test_retries_on_503_then_succeeds(local_server: LocalServer) -> None:
    local_server.route("/flaky", Reply(status=503), Reply(status=502), Reply(body=b"ok"))
    assert run(fetch(local_server.url("/flaky"))).content == b"ok"
    assert local_server.hits("/flaky") == 3


def test_retry_cap(local_server: LocalServer) -> None:
    local_server.route("/down", status=503)
    error = fetch_error(local_server.url("/down"))
    assert "HTTP 503" in str(error) and "3 attempts" in str(error)
    assert local_server.hits("/down") == 3


def test_retry_after_is_honoured_up_to_the_cap(local_server: LocalServer) -> None:
    local_server.route("/busy", Reply(status=429, headers={"Retry-After": "5"}), Reply(body=b"ok"))
    policy = FetchPolicy(allow_private_networks=True, retry_after_cap=0.3)
    started = time.monotonic()
    assert run(fetch(local_server.url("/busy"), policy)).content == b"ok"
    assert 0.3 <= time.monotonic() - started < 2.0


def test_broken_connection(local_server: LocalServer) -> None:
    local_server.route("/cut", size=200_000, truncate=True)
    assert "attempts" in str(
        fetch_error(local_server.url("/cut"), FetchPolicy(allow_private_networks=True, retries=0))
    )
    local_server.route("/cut-once", Reply(size=200_000, truncate=True), Reply(body=b"whole"))
    assert run(fetch(local_server.url("/cut-once"))).content == b"whole"


@pytest.mark.parametrize(("per_host", "total", "expected"), [(2, 32, 2), (4, 1, 1)])
def test_concurrency_bounds(local_server: LocalServer, per_host: int, total: int, expected: int) -> None:
    local_server.route("/wait", delay=0.15, body=b"ok")
    policy = FetchPolicy(allow_private_networks=True, per_host=per_host, max_concurrency=total)

    async def many() -> list[FetchResult]:
        async with HttpxFetcher(policy) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(local_server.url("/wait")) for _ in range(6)))

    assert [r.content for r in run(many())] == [b"ok"] * 6
    assert local_server.max_active == expected


# --- OfflineFetcher ---


def test_offline_fetcher_serves_and_answers_304() -> None:
    stored = FetchResult("https://x.example/feed", 200, b"<rss/>", (("ETag", '"v2"'),))
    fetcher = OfflineFetcher({"https://x.example/feed": stored, "https://x.example/a": b"<html/>"})
    assert run(fetcher.fetch("https://x.example/a")) == FetchResult("https://x.example/a", 200, b"<html/>")
    assert run(fetcher.fetch("https://x.example/feed")).content == b"<rss/>"
    assert run(fetcher.fetch("https://x.example/feed", etag='"v2"')).status == 304
    assert run(fetcher.fetch("https://x.example/feed", etag='"v1"')).status == 200
    with pytest.raises(FetchError, match="no offline response"):
        run(fetcher.fetch("https://x.example/unknown"))
    assert fetcher.requested[-1] == "https://x.example/unknown" and len(fetcher.requested) == 5


def test_offline_fetcher_stored_error_status_raises() -> None:
    fetcher = OfflineFetcher({"https://x.example/gone": FetchResult("https://x.example/gone", 410)})
    with pytest.raises(FetchError, match="HTTP 410"):
        run(fetcher.fetch("https://x.example/gone"))


def test_offline_fetcher_from_dir(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "news.xml").write_bytes(b"<rss/>")
    (tmp_path / "post one.html").write_bytes(b"<html/>")
    fetcher = OfflineFetcher.from_dir(tmp_path, "https://offline.example/")
    feed = run(fetcher.fetch("https://offline.example/feeds/news.xml"))
    assert feed.content == b"<rss/>" and "xml" in (feed.header("content-type") or "")
    assert run(fetcher.fetch("https://offline.example/post%20one.html")).content == b"<html/>"
    run(fetcher.aclose())
