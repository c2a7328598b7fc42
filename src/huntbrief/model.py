"""The typed core model: frozen, slotted dataclasses that flow through the pure stages.

Nothing here does I/O. Every value is immutable; stages return new values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

SCHEMA_VERSION = 1


class IndicatorKind(StrEnum):
    """The kinds of indicator of compromise huntbrief emits (JSON `type` values)."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    CIDR = "cidr"
    DOMAIN = "domain"
    URL = "url"
    EMAIL = "email"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"
    CVE = "cve"
    ASN = "asn"
    REGISTRY_KEY = "registry_key"
    FILE_PATH = "file_path"
    FILE_NAME = "file_name"
    BITCOIN = "bitcoin"
    MONERO = "monero"
    ETHEREUM = "ethereum"


class Confidence(StrEnum):
    """Qualitative confidence, used for indicators and hunts."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class SeverityLevel(StrEnum):
    """Severity levels, most urgent first."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """0 for CRITICAL … 4 for INFO (lower is more urgent)."""
        return list(SeverityLevel).index(self)


class TextOrigin(StrEnum):
    """Where an article's analysis text came from."""

    PAGE = "page"  # the full article page, extracted
    FEED_CONTENT = "feed_content"  # the feed's content:encoded / atom content
    FEED_SUMMARY = "feed_summary"  # the feed's summary / description only
    FILE = "file"  # a local file given on the command line
    STDIN = "stdin"


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A feed to poll, as configured by the user."""

    name: str
    url: str
    category: str = "news"
    fetch_articles: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed. `key` identifies it across runs (GUID, else canonical URL)."""

    key: str
    source: str
    title: str
    url: str | None = None
    guid: str | None = None
    published: datetime | None = None
    summary: str = ""  # HTML or text of the feed's summary/description
    content: str = ""  # HTML of the feed's full content (content:encoded, atom:content)
    author: str = ""


@dataclass(frozen=True, slots=True)
class FeedParse:
    """The result of parsing one feed document: its items and any problems, never an exception."""

    items: tuple[FeedItem, ...]
    problems: tuple[str, ...] = ()
    title: str = ""
    link: str = ""


@dataclass(frozen=True, slots=True)
class Article:
    """The article behind an item: clean analysis text plus metadata."""

    url: str | None
    title: str
    source: str
    text: str
    published: datetime | None = None
    html: str = ""  # the raw HTML the text came from, when there was any
    origin: TextOrigin = TextOrigin.PAGE
    author: str = ""

    @property
    def content_hash(self) -> str:
        """SHA-256 of the normalised analysis text: equal hashes mean nothing to re-analyse."""
        normal = " ".join(self.text.split())
        return hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Indicator:
    """A high-fidelity indicator: `value` is refanged (for machines), `defanged` is for people."""

    kind: IndicatorKind
    value: str
    defanged: str
    confidence: Confidence
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A candidate indicator that was rejected, and why."""

    kind: IndicatorKind
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class IocFindings:
    """What the IOC stage returns: kept indicators and suppressed candidates, in stable order."""

    indicators: tuple[Indicator, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()


@dataclass(frozen=True, slots=True)
class TechniqueHit:
    """An ATT&CK technique inferred from the text, with confidence 0–1 and evidence sentences."""

    id: str
    name: str
    tactics: tuple[str, ...]
    confidence: float
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """One query for one backend; `language` labels the fenced block (spl, kql, esql…)."""

    backend: str
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Hunt:
    """A recommended hunt: a named use case or an IOC sweep, with a query per backend."""

    id: str
    title: str
    phase: str
    confidence: Confidence
    techniques: tuple[str, ...] = ()
    queries: tuple[Query, ...] = ()
    description: str = ""
    kind: str = "usecase"  # "usecase" | "sweep" | "sigma"
    attribution: str = ""  # for hunts from SigmaHQ rules: rule, author, path and licence (DRL 1.1)


@dataclass(frozen=True, slots=True)
class Severity:
    """How urgent an article is: a level, a 0–100 score and plain-word reasons."""

    level: SeverityLevel
    score: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Brief:
    """Everything huntbrief says about one article."""

    title: str
    url: str | None
    source: str
    published: datetime | None
    summary: str
    severity: Severity
    iocs: IocFindings
    techniques: tuple[TechniqueHit, ...]
    kill_chain: tuple[str, ...]
    hunts: tuple[Hunt, ...]
    content_hash: str
    origin: TextOrigin = TextOrigin.PAGE
    item_key: str | None = None
    changes: str | None = None  # a short "what changed" line when the brief was updated
    analysed_at: datetime | None = None
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """A failure on one feed or item, recorded so the run moves on and retries later."""

    source: str
    stage: str  # "feed" | "fetch" | "extract" | "analyse" | "render" | "store"
    error: str
    item_key: str | None = None
    url: str | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about a feed between runs (conditional GET validators)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The bytes and headers of one HTTP response (or a local file), plus the final URL."""

    url: str
    status: int
    content: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default=())

    def header(self, name: str) -> str | None:
        """The first header value of that name, case-insensitive, or None."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional GET."""
        return self.status == 304
