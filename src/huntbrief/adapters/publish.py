"""Send outputs to other systems over HTTP: a MISP server's REST API, and alert webhooks.

Synchronous httpx with retries on connection errors, 429 and 5xx (exponential backoff). Errors
are `PublishError`s naming the URL; API keys are never logged or put in messages. Destinations
pass the same non-public address refusal as fetching (`check_destination`) unless allowed.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import httpx

from huntbrief import __version__
from huntbrief.adapters.fetch import is_public_address
from huntbrief.errors import ConfigError, HuntbriefError

MISP_KEY_ENV = "HUNTBRIEF_MISP_KEY"
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class PublishError(HuntbriefError):
    """An output could not be delivered to a remote system (MISP, webhook)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts in all, first backoff in seconds (doubling), per-request timeout."""

    attempts: int = 3
    backoff: float = 0.5
    timeout: float = 20.0


def redact_url(url: str) -> str:
    """`scheme://host[:port]/…`: a URL fit for logs (webhook paths and queries are often secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def check_destination(
    url: str, *, allow_private: bool, resolve: Callable[[str], list[str]] | None = None
) -> None:
    """Refuse non-http(s) URLs and, unless `allow_private`, hosts that are or resolve to non-public
    addresses (the rule of `adapters.fetch`); raises PublishError naming the redacted URL."""
    parts, where = urlsplit(url), redact_url(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise PublishError("refused: only http(s) URLs with a host are used", location=where)
    if allow_private:
        return
    try:
        addresses = [str(ip_address(parts.hostname))]
    except ValueError:
        addresses = (resolve or _resolve)(parts.hostname)
    for address in addresses:
        if not is_public_address(address):
            raise PublishError(
                f"refused: {parts.hostname} is a non-public address ({address}); "
                "set allow_private_networks to allow it",
                location=where,
            )


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise PublishError(f"cannot resolve host {host}: {exc}", location=host) from exc
    return [str(info[4][0]).split("%")[0] for info in infos]


def send_json(
    client: httpx.Client,
    method: str,
    url: str,
    payload: Any,
    *,
    headers: Mapping[str, str] | None = None,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send `payload` as JSON, retrying transient failures; PublishError after the last attempt."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    sent = {"Content-Type": "application/json", "User-Agent": f"huntbrief/{__version__}", **(headers or {})}
    problem = "no attempt made"
    for attempt in range(max(1, policy.attempts)):
        if attempt:
            sleep(policy.backoff * 2 ** (attempt - 1))
        try:
            response = client.request(method, url, content=body, headers=sent, timeout=policy.timeout)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code < 300:
            return response
        problem = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code not in _RETRY_STATUS:
            break
    raise PublishError(f"delivery failed: {problem}", location=url)


def misp_key(env: Mapping[str, str] | None = None, name: str = MISP_KEY_ENV) -> str:
    """The MISP API key from the environment variable `name`; ConfigError when unset or empty."""
    value = (os.environ if env is None else env).get(name, "").strip()
    if not value:
        raise ConfigError(f"set the MISP API key in the environment variable {name}")
    return value


def push_misp_event(
    client: httpx.Client,
    base_url: str,
    api_key: str,
    event_json: str,
    *,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Create or update (same UUID) a MISP event from MispRenderer JSON; returns "added" or "updated"."""
    event = json.loads(event_json)
    uuid = event["Event"]["uuid"]
    root = base_url.rstrip("/")
    headers = {"Authorization": api_key, "Accept": "application/json"}
    try:
        probe = client.head(f"{root}/events/view/{uuid}", headers=headers, timeout=policy.timeout)
    except httpx.HTTPError as exc:
        raise PublishError(f"MISP unreachable: {type(exc).__name__}: {exc}", location=root) from exc
    if probe.status_code in (401, 403):
        raise PublishError(f"MISP refused the API key (HTTP {probe.status_code})", location=root)
    exists = probe.status_code == 200
    path = f"events/edit/{uuid}" if exists else "events/add"
    send_json(client, "POST", f"{root}/{path}", event, headers=headers, policy=policy, sleep=sleep)
    return "updated" if exists else "added"
