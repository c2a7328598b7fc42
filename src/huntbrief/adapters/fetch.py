"""Fetching feeds and articles over HTTP(S): the Fetcher protocol, HttpxFetcher and OfflineFetcher.

HttpxFetcher refuses, before any connection, URLs that are not http/https or whose host is or resolves to
a non-public address (see `is_public_address`), on every redirect hop, unless the policy allows private
networks. Limitation (DNS rebinding): the name is resolved once for the check and again by httpx to
connect, so a hostile DNS server that answers differently the second time can still reach a private
address; the check stops ordinary SSRF through feed links and redirects, not an attacker who controls DNS.
"""

from __future__ import annotations

import asyncio
import email.utils
import mimetypes
import random
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import quote, urljoin, urlsplit

import httpx

from huntbrief import __version__
from huntbrief.errors import FetchError
from huntbrief.model import FetchResult

DEFAULT_USER_AGENT = f"huntbrief/{__version__} (+https://github.com/huntbrief/huntbrief)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = IPv6Network("64:ff9b::/96")
_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"


class Fetcher(Protocol):
    """Something that GETs a URL; 304 answers a matching conditional GET; failures raise FetchError."""

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """The response to GET `url`, sending If-None-Match / If-Modified-Since when given."""
        ...

    async def aclose(self) -> None:
        """Release connections; the fetcher is not used afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Limits for HttpxFetcher: times in seconds, sizes in bytes of decoded body."""

    timeout: float = 20.0  # per attempt, connect to last byte
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 2  # extra attempts after connect errors, timeouts, broken transfers, 429 and 5xx
    backoff_base: float = 0.5  # base * 2**attempt, plus up to `base` of jitter
    retry_after_cap: float = 30.0  # longest Retry-After honoured
    max_concurrency: int = 32
    per_host: int = 4
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_networks: bool = False


def is_public_address(ip: str | IPv4Address | IPv6Address) -> bool:
    """True only for a globally routable unicast address; private, loopback, link-local, CGNAT, multicast,
    reserved and unspecified are not (IPv4 embedded in IPv6 is judged as IPv4). Non-IP text is not."""
    try:
        addr = ip_address(ip) if isinstance(ip, str) else ip
    except ValueError:
        return False
    if isinstance(addr, IPv6Address):
        if addr in _NAT64:
            return is_public_address(IPv4Address(int(addr) & 0xFFFFFFFF))
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is not None:
            return is_public_address(embedded)
    special = (addr.is_private, addr.is_loopback, addr.is_link_local, addr.is_multicast, addr.is_reserved)
    return addr.is_global and not any(special) and not addr.is_unspecified


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), never negative; None if bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class _Retryable(Exception):
    """A failed attempt worth repeating, with the server's Retry-After when it gave one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class HttpxFetcher:
    """Fetcher over one shared httpx.AsyncClient, with the limits and checks of a FetchPolicy."""

    def __init__(
        self, policy: FetchPolicy = FetchPolicy(), *, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.policy = policy
        headers = {"User-Agent": policy.user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"}
        self._client = httpx.AsyncClient(
            transport=transport, headers=headers, timeout=policy.timeout, follow_redirects=False
        )
        self._global: asyncio.Semaphore | None = None  # created lazily, inside the running loop
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> HttpxFetcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared client and its connections."""
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url`, following up to `max_redirects` redirects, each hop checked; raises FetchError."""
        headers = {"If-None-Match": etag} if etag else {}
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, seen = url, {url}
        for _ in range(self.policy.max_redirects + 1):
            await self._check_target(current)
            result = await self._with_retries(current, headers)
            if result.status not in _REDIRECTS:
                return result
            location = result.header("location")
            if not location:
                raise FetchError(f"HTTP {result.status} redirect without a Location header", location=current)
            current = urljoin(current, location.strip())
            if current in seen:
                raise FetchError(f"redirect loop back to {current}", location=url)
            seen.add(current)
        raise FetchError(f"too many redirects (more than {self.policy.max_redirects})", location=url)

    async def _check_target(self, url: str) -> None:
        """Refuse non-http(s) URLs and, unless allowed, hosts that are or resolve to non-public addresses."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchError(
                f"refused: only http and https URLs are fetched, not {parts.scheme!r}", location=url
            )
        if not parts.hostname:
            raise FetchError("refused: the URL has no host", location=url)
        if self.policy.allow_private_networks:
            return
        for address in await self._addresses(parts.hostname, url):
            if not is_public_address(address):
                raise FetchError(
                    f"refused: {parts.hostname} is a non-public address ({address})", location=url
                )

    async def _addresses(self, host: str, url: str) -> list[str]:
        """The host itself if it is an IP literal, else every address it resolves to."""
        try:
            return [str(ip_address(host))]
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.policy.timeout):
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host}: {exc or 'timed out'}", location=url) from exc
        return [str(info[4][0]).split("%")[0] for info in infos]

    async def _with_retries(self, url: str, headers: dict[str, str]) -> FetchResult:
        """One hop, retried with backoff on transient failures; raises FetchError when out of attempts."""
        host = urlsplit(url).netloc.lower()
        attempts = self.policy.retries + 1
        for attempt in range(attempts):
            try:
                async with self._slot(host), asyncio.timeout(self.policy.timeout):
                    return await self._attempt(url, headers)
            except (_Retryable, httpx.TransportError, TimeoutError) as exc:
                if isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
                    raise FetchError(str(exc), location=url) from exc
                if attempt + 1 == attempts:
                    raise FetchError(f"{_reason(exc)} (after {attempts} attempts)", location=url) from exc
                await asyncio.sleep(self._backoff(attempt, getattr(exc, "retry_after", None)))
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise FetchError(_reason(exc), location=url) from exc
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before the next attempt: Retry-After (capped), else exponential with jitter."""
        if retry_after is not None:
            return min(retry_after, self.policy.retry_after_cap)
        base = self.policy.backoff_base
        return float(base * 2**attempt + random.uniform(0, base))

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Hold one per-host slot, then one global slot, for the duration of a request."""
        if self._global is None:
            self._global = asyncio.Semaphore(self.policy.max_concurrency)
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.policy.per_host))
        async with per_host, self._global:
            yield

    async def _attempt(self, url: str, headers: dict[str, str]) -> FetchResult:
        """One GET without following redirects; the body is streamed and capped at max_bytes."""
        request = self._client.build_request("GET", url, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            if status == 429 or status >= 500:
                wait = parse_retry_after(response.headers.get("retry-after"), now=datetime.now(UTC))
                raise _Retryable(f"HTTP {status} {response.reason_phrase}".strip(), wait)
            if status not in _REDIRECTS and status != 304 and not 200 <= status < 300:
                raise FetchError(f"HTTP {status} {response.reason_phrase}".strip(), location=url)
            body = b"" if status in _REDIRECTS or status == 304 else await self._read_capped(response, url)
            return FetchResult(str(response.url), status, body, tuple(response.headers.multi_items()))
        finally:
            await response.aclose()

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        """The decoded body, or FetchError as soon as it (or its declared length) passes max_bytes."""
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"response larger than {limit} bytes (Content-Length {declared})", location=url)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > limit:
                raise FetchError(f"response larger than {limit} bytes", location=url)
        return bytes(body)


async def fetch_document(url: str, policy: FetchPolicy) -> bytes:
    """GET one document with huntbrief's fetcher (timeouts, size cap, address checks); the body of
    a 200 answer, else FetchError naming the URL."""
    async with HttpxFetcher(policy) as fetcher:
        result = await fetcher.fetch(url)
    if result.status != 200:
        raise FetchError(f"HTTP {result.status}", location=url)
    return result.content


def _reason(exc: BaseException) -> str:
    """A short human reason for a failed attempt."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, _Retryable) else f"{type(exc).__name__}: {text}"


class OfflineFetcher:
    """Serves stored responses from memory, never the network (tests, the bundled offline example).
    Unknown URLs and stored 4xx/5xx raise FetchError; a matching ETag or Last-Modified answers 304."""

    def __init__(self, responses: Mapping[str, bytes | FetchResult]) -> None:
        self._responses = dict(responses)
        self.requested: list[str] = []  # every URL asked for, in order

    @classmethod
    def from_dir(cls, root: str | Path, base_url: str) -> OfflineFetcher:
        """Serve every file under `root` at `base_url` + its relative path, with a guessed Content-Type."""
        responses: dict[str, bytes | FetchResult] = {}
        for path in sorted(Path(root).rglob("*")):
            if path.is_file():
                url = base_url.rstrip("/") + "/" + quote(path.relative_to(root).as_posix())
                ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                responses[url] = FetchResult(url, 200, path.read_bytes(), (("Content-Type", ctype),))
        return cls(responses)

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """The stored response for exactly `url`; 304 when the validators match; FetchError otherwise."""
        self.requested.append(url)
        stored = self._responses.get(url)
        if stored is None:
            raise FetchError("no offline response stored for this URL", location=url)
        result = stored if isinstance(stored, FetchResult) else FetchResult(url, 200, stored)
        if result.status >= 400:
            raise FetchError(f"HTTP {result.status}", location=url)
        stored_etag, stored_modified = result.header("etag"), result.header("last-modified")
        if (etag and etag == stored_etag) or (last_modified and last_modified == stored_modified):
            return FetchResult(result.url, 304, b"", result.headers)
        return result

    async def aclose(self) -> None:
        """Nothing to release."""
