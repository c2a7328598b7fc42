"""Deliver saved briefs to their targets (alert webhooks, MISP) from the store's outbox.

The runner queues a brief's targets in the transaction that saves it; `Outbox.deliver_pending`
then sends what is pending, after the run's briefs are saved and written. A sent version is
recorded and never sent again; a failure stays pending for the next run, is logged and reported,
and never touches the brief. After a target fails, its other pending briefs wait for the next run.
Secrets (webhook URLs, `env:` header values, the MISP key) are scrubbed from messages and logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx

from huntbrief.adapters.deliveries import PendingDelivery
from huntbrief.adapters.notify import PAYLOADS
from huntbrief.adapters.publish import (
    PublishError,
    RetryPolicy,
    check_destination,
    push_misp_event,
    redact_url,
    send_json,
)
from huntbrief.adapters.render.misp import MispRenderer
from huntbrief.adapters.store import Store
from huntbrief.adapters.targets import MISP, Target
from huntbrief.errors import HuntbriefError
from huntbrief.model import Brief

log = logging.getLogger("huntbrief")
_HTTPX_LOGGER = "httpx"  # logs every request URL at INFO: webhook URLs must be scrubbed there too


class Sender(Protocol):
    """Sends one brief to one target; PublishError (secrets scrubbed) when it cannot."""

    def send(self, target: Target, brief: Brief, *, updated: bool) -> str: ...
    def close(self) -> None: ...


def scrub(text: str, targets: Sequence[Target]) -> str:
    """`text` with each target's URL shortened to `redact_url` and its other secrets replaced by ***."""
    for target in targets:
        text = text.replace(target.url, redact_url(target.url))
        for secret in sorted(target.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
    return text


class _ScrubLogs(logging.Filter):
    """Rewrites log records that mention a target's secrets (installed on the httpx logger)."""

    def __init__(self, targets: Sequence[Target]) -> None:
        super().__init__()
        self.targets = tuple(targets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.targets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


@contextmanager
def scrubbed_logs(targets: Sequence[Target]) -> Iterator[None]:
    """While inside, records of the httpx logger have the targets' secrets scrubbed."""
    logger, hook = logging.getLogger(_HTTPX_LOGGER), _ScrubLogs(targets)
    logger.addFilter(hook)
    try:
        yield
    finally:
        logger.removeFilter(hook)


class HttpSender:
    """Sender over one httpx.Client: chat/webhook payloads by POST, MISP events by `push_misp_event`.

    Every request first passes `check_destination` (no private addresses unless allowed)."""

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        allow_private: bool = False,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        resolve: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.allow_private = allow_private
        self._client = client or httpx.Client(follow_redirects=False)
        self._sleep = sleep
        self._resolve = resolve
        self._misp = MispRenderer()

    def send(self, target: Target, brief: Brief, *, updated: bool) -> str:
        """Deliver; returns "sent", or MISP's "added"/"updated"; PublishError with secrets scrubbed."""
        try:
            check_destination(target.url, allow_private=self.allow_private, resolve=self._resolve)
            if target.kind == MISP:
                key = dict(target.headers)["Authorization"]
                event = self._misp.render(brief)
                return push_misp_event(
                    self._client, target.url, key, event, policy=self.policy, sleep=self._sleep
                )
            payload = PAYLOADS[target.kind](brief, updated=updated)
            send_json(
                self._client,
                "POST",
                target.url,
                payload,
                headers=dict(target.headers),
                policy=self.policy,
                sleep=self._sleep,
            )
            return "sent"
        except PublishError as exc:
            where = scrub(exc.location or "", [target]) or None
            raise PublishError(scrub(exc.message, [target]), location=where) from None

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


@dataclass
class DeliveryReport:
    """What one `deliver_pending` did; `failed` holds (target: brief title, reason)."""

    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    deferred: int = 0  # not tried this run because their target had just failed
    dropped: int = 0  # pending no more (brief gone, below the threshold now, or already sent)
    given_up: int = 0  # failed `max_attempts` times in a row: not tried until the brief changes

    def summary(self) -> str:
        """`deliveries: 2 sent, 1 failed, 3 deferred, 1 given up` (the last two only when some were)."""
        deferred = f", {self.deferred} deferred" if self.deferred else ""
        given_up = f", {self.given_up} given up" if self.given_up else ""
        return f"deliveries: {self.sent} sent, {len(self.failed)} failed{deferred}{given_up}"


DEFAULT_MAX_ATTEMPTS = 20


class Outbox:
    """The run's delivery targets over the store's outbox table and a Sender.

    A delivery that failed `max_attempts` runs in a row is given up: it stays listed (with its last
    error) by `huntbrief failures` and is tried again only when its brief changes (a new version
    is queued with its count reset), so a dead endpoint does not cost every run a timeout per brief.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        store: Store,
        sender: Sender,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.targets = tuple(targets)
        self.store = store
        self.sender = sender
        self.max_attempts = max_attempts

    def wanted(self, brief: Brief) -> tuple[str, ...]:
        """The ids of the targets this brief should go to (queued by `Store.save_brief`)."""
        return tuple(t.id for t in self.targets if t.wants(brief))

    def deliver_pending(self, *, now: Callable[[], datetime], stop: Callable[[], bool]) -> DeliveryReport:
        """Send every pending delivery of every target, until `stop()` is true; never raises PublishError."""
        report = DeliveryReport()
        with scrubbed_logs(self.targets):
            for target in self.targets:
                if stop():
                    break
                try:
                    self._deliver_target(target, report, now, stop)
                except (HuntbriefError, OSError) as exc:  # e.g. the store: this target waits a run
                    reason = scrub(str(exc), self.targets)
                    report.failed.append((target.label, reason))
                    log.error("deliveries to %s stopped (retried next run): %s", target.label, reason)
        return report

    def _deliver_target(
        self, target: Target, report: DeliveryReport, now: Callable[[], datetime], stop: Callable[[], bool]
    ) -> None:
        waiting = self.store.pending_deliveries(target.id)  # fewest failed attempts first
        for done, entry in enumerate(waiting):
            if stop():
                return
            if entry.attempts >= self.max_attempts:
                report.given_up += len(waiting) - done
                log.warning(
                    "%d deliveries to %s given up after %d failed runs (see `huntbrief failures`)",
                    len(waiting) - done,
                    target.label,
                    self.max_attempts,
                )
                return
            brief = self.store.brief(entry.key)
            if brief is None or not target.wants(brief) or brief.content_hash == entry.delivered_hash:
                self._settle(target, entry, None, now)
                report.dropped += 1
                continue
            try:
                outcome = self.sender.send(target, brief, updated=entry.delivered_hash is not None)
            except Exception as exc:  # one delivery's failure, whatever it is, must not stop the run
                self._failed(target, entry, brief, exc, report)
                report.deferred += len(waiting) - done - 1
                return
            self._settle(target, entry, brief.content_hash, now)
            report.sent += 1
            log.info("delivered to %s (%s): %s", target.label, outcome, brief.title)

    def _settle(
        self, target: Target, entry: PendingDelivery, sent: str | None, now: Callable[[], datetime]
    ) -> None:
        self.store.settle_delivery(
            target.id, entry.key, pending_hash=entry.pending_hash, delivered_hash=sent, now=now()
        )

    def _failed(
        self, target: Target, entry: PendingDelivery, brief: Brief, exc: Exception, report: DeliveryReport
    ) -> None:
        known = isinstance(exc, PublishError)
        reason = scrub(str(exc) if known else f"{type(exc).__name__}: {exc}", self.targets)
        attempts = self.store.record_delivery_failure(target.id, entry.key, reason)
        report.failed.append((f"{target.label}: {brief.title}", reason))
        log.warning(
            "delivery to %s failed (attempt %d, retried next run) for %s: %s",
            target.label,
            attempts,
            brief.title,
            reason,
        )

    def close(self) -> None:
        """Release the sender's connections."""
        self.sender.close()


def make_outbox(
    targets: Sequence[Target],
    store: Store,
    *,
    retries: int,
    timeout: float,
    allow_private: bool,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Outbox | None:
    """An Outbox over an HttpSender with `retries` extra attempts per delivery (within a run) and
    `max_attempts` failed runs before a delivery is given up; None without targets."""
    if not targets:
        return None
    policy = RetryPolicy(attempts=retries + 1, timeout=timeout)
    sender = HttpSender(policy=policy, allow_private=allow_private)
    return Outbox(targets, store, sender, max_attempts=max_attempts)
