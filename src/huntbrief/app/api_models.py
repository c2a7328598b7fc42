"""The JSON API's response models (they document the API in its OpenAPI spec)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from huntbrief.adapters.queries import BriefRow
from huntbrief.model import SeverityLevel


class BriefSummary(BaseModel):
    """One brief as listed: no IOC values, queries or evidence (fetch the brief for those)."""

    id: str = Field(description="Stable brief id (16 hex digits) used in every brief URL.")
    key: str = Field(description="The feed item's key (GUID or URL).")
    title: str
    source: str
    published: datetime | None
    analysed_at: datetime
    severity: SeverityLevel
    score: int
    summary: str = Field(description="The start of the brief's summary.")
    iocs: int
    techniques: int
    hunts: int
    url: str = Field(description="The API URL of the full brief.")

    @classmethod
    def of(cls, row: BriefRow) -> BriefSummary:
        """The summary of one listed row."""
        fields = {k: getattr(row, k) for k in ("id", "key", "title", "source", "published", "analysed_at")}
        counts = {k: getattr(row, k) for k in ("score", "summary", "iocs", "techniques", "hunts")}
        return cls(**fields, **counts, severity=row.level, url=f"/api/v1/briefs/{row.id}")


class BriefPage(BaseModel):
    """A page of briefs, newest published first, and the total that match the filters."""

    total: int
    limit: int
    offset: int
    items: list[BriefSummary]


class BriefDetail(BaseModel):
    """A full brief: `brief` follows huntbrief's public brief JSON schema (schema/brief.schema.json)."""

    id: str
    formats: dict[str, str] = Field(description="Format name → API URL of the brief rendered in it.")
    brief: dict[str, Any]


class IocHit(BaseModel):
    """A brief mentioning an indicator: `match` is "exact", or "host" for a URL/e-mail on that host."""

    kind: str
    value: str
    match: Literal["exact", "host"]
    brief: BriefSummary


class IocResult(BaseModel):
    """The briefs mentioning one looked-up value (`normalised` is what was searched for)."""

    input: str
    normalised: str
    hits: list[IocHit]


class IocLookup(BaseModel):
    """Results per looked-up value, in the order given."""

    results: list[IocResult]


class TechniqueOut(BaseModel):
    """A technique and how many briefs in the window name it."""

    id: str
    name: str
    briefs: int
    last_seen: date


class TechniqueDetail(BaseModel):
    """The newest briefs naming a technique (or its sub-techniques) and the hunts they recommend for it."""

    id: str
    name: str
    total: int
    briefs: list[BriefSummary]
    hunts: list[dict[str, Any]] = Field(description="Hunts in the brief JSON schema's `hunts[]` shape.")


class HeatRow(BaseModel):
    """One technique's brief counts per bucket."""

    id: str
    name: str
    total: int
    counts: list[int]


class HeatmapOut(BaseModel):
    """Brief counts per technique per bucket; `buckets` are the first days of each bucket."""

    buckets: list[date]
    bucket_days: int
    peak: int
    rows: list[HeatRow]


class FeedOut(BaseModel):
    """One feed URL's health."""

    url: str
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failing_attempts: int
    responses: int
    not_modified: int
    not_modified_rate: float | None


class SourceOut(BaseModel):
    """One source: its feeds, items seen and failed, briefs and newest brief date."""

    name: str
    items: int
    failed_items: int
    briefs: int
    last_brief_at: date | None
    feeds: list[FeedOut]


class HealthOut(BaseModel):
    """Liveness and what this server can serve."""

    status: Literal["ok"]
    version: str
    briefs: int
    formats: list[str]
