"""The read-only JSON API under /api/v1/: briefs, brief in every format, IOC lookup, techniques, sources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from huntbrief import __version__
from huntbrief.adapters.brief_rows import normalise_ioc
from huntbrief.adapters.queries import BriefFilter
from huntbrief.adapters.source_health import source_health
from huntbrief.app.api_models import (
    BriefDetail,
    BriefPage,
    BriefSummary,
    FeedOut,
    HealthOut,
    HeatmapOut,
    HeatRow,
    IocHit,
    IocLookup,
    IocResult,
    SourceOut,
    TechniqueDetail,
    TechniqueOut,
)
from huntbrief.app.web_context import WebContext, web_context
from huntbrief.app.web_filters import MAX_IOCS, MAX_TEXT, TECHNIQUE_ID
from huntbrief.app.web_pages import (
    BRIEF_ID,
    NOT_FOUND,
    TECHNIQUE_BRIEFS,
    End,
    IsoDay,
    rendered,
    technique_hunts,
    window,
)
from huntbrief.model import SeverityLevel
from huntbrief.serialize import brief_to_dict, hunt_to_dict

Ctx = Annotated[WebContext, Depends(web_context)]
BriefId = Annotated[str, Path(pattern=BRIEF_ID, description="A brief id from a list.")]
router = APIRouter(prefix="/api/v1", tags=["api"])


@router.get("/briefs", response_model=BriefPage)
def list_briefs(
    ctx: Ctx,
    severity: Annotated[list[SeverityLevel], Query(description="Exact levels (repeatable).")] = [],  # noqa: B006
    min_severity: Annotated[SeverityLevel | None, Query(description="This level or more urgent.")] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[IsoDay | None, Query(description="Published (else analysed) on or after, UTC.")] = None,
    until: Annotated[IsoDay | None, Query(description="Published (else analysed) on or before, UTC.")] = None,
    technique: Annotated[
        str | None, Query(pattern=TECHNIQUE_ID, description="Also its sub-techniques.")
    ] = None,
    q: Annotated[str | None, Query(max_length=MAX_TEXT, description="Words in title/summary/…")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> BriefPage:
    """Briefs newest published first (undated last), filtered and paged."""
    flt = BriefFilter(tuple(severity), min_severity, source, since, until, technique and technique.upper(), q)
    found = ctx.queries.briefs(flt, limit=limit, offset=offset)
    return BriefPage(
        total=found.total, limit=limit, offset=offset, items=[BriefSummary.of(r) for r in found.rows]
    )


@router.get("/briefs/{brief_id}", response_model=BriefDetail, responses=NOT_FOUND)
def get_brief(ctx: Ctx, brief_id: BriefId) -> BriefDetail:
    """One brief as huntbrief's brief JSON, with links to it in every output format."""
    found = ctx.queries.brief(brief_id)
    if found is None:
        raise HTTPException(404, "no brief with this id")
    links = {name: f"/api/v1/briefs/{brief_id}/{name}" for name in ctx.formats}
    return BriefDetail(id=brief_id, formats=links, brief=brief_to_dict(found[1]))


@router.get(
    "/briefs/{brief_id}/{fmt}",
    responses={**NOT_FOUND, 200: {"content": {"text/plain": {}}, "description": "The rendered brief."}},
)
def get_brief_as(ctx: Ctx, brief_id: BriefId, fmt: Annotated[str, Path(max_length=40)]) -> Response:
    """One brief rendered in an output format (a name from /api/v1/health `formats`)."""
    return rendered(ctx, brief_id, fmt, attachment=False)


@router.get("/iocs", response_model=IocLookup)
def lookup_iocs(
    ctx: Ctx,
    value: Annotated[list[str], Query(min_length=1, max_length=MAX_IOCS, description="Defanged is fine.")],
) -> IocLookup:
    """Briefs mentioning each value; a bare domain or IP also finds URLs and e-mails on that host."""
    values = [v[:2000] for v in dict.fromkeys(value)]
    matches = ctx.queries.iocs(values)
    results = []
    for raw in values:
        norm = normalise_ioc(raw)
        hits = [
            IocHit(
                kind=m.kind,
                value=m.value,
                match="exact" if m.how == "exact" else "host",
                brief=BriefSummary.of(m.brief),
            )
            for m in matches
            if m.query == norm
        ]
        results.append(IocResult(input=raw, normalised=norm, hits=hits))
    return IocLookup(results=results)


@router.get("/techniques", response_model=list[TechniqueOut])
def list_techniques(
    ctx: Ctx, since: Annotated[IsoDay | None, Query()] = None, until: Annotated[IsoDay | None, Query()] = None
) -> list[TechniqueOut]:
    """Every technique named by a brief dated in the window, most briefs first."""
    return [
        TechniqueOut(id=t.id, name=t.name, briefs=t.briefs, last_seen=t.last_seen)
        for t in ctx.queries.techniques(since=since, until=until)
    ]


@router.get("/techniques/{technique}", response_model=TechniqueDetail)
def get_technique(ctx: Ctx, technique: Annotated[str, Path(pattern=TECHNIQUE_ID)]) -> TechniqueDetail:
    """The newest briefs naming a technique (or its sub-techniques) and the hunts they recommend."""
    tid = technique.upper()
    found = ctx.queries.briefs(BriefFilter(technique=tid), limit=TECHNIQUE_BRIEFS)
    hunts = technique_hunts(ctx.queries.full_briefs([r.key for r in found.rows]), tid)
    names = [t.name for t in ctx.queries.techniques() if t.id == tid]
    return TechniqueDetail(
        id=tid,
        name=names[0] if names else "",
        total=found.total,
        briefs=[BriefSummary.of(r) for r in found.rows],
        hunts=[hunt_to_dict(h) for h in hunts],
    )


@router.get("/heatmap", response_model=HeatmapOut)
def get_heatmap(
    ctx: Ctx,
    days: Annotated[int, Query(ge=7, le=730)] = 90,
    bucket: Annotated[int, Query(ge=1, le=90)] = 7,
    top: Annotated[int, Query(ge=1, le=100)] = 25,
    end: End = None,
) -> HeatmapOut:
    """Briefs per technique per `bucket` days over the `days` days up to `end` (today, UTC), busiest first."""
    heat = ctx.queries.heatmap(*window(end, days), bucket_days=bucket, top=top)
    rows = [HeatRow(id=t.id, name=t.name, total=t.briefs, counts=list(c)) for t, c in heat.rows]
    return HeatmapOut(buckets=list(heat.buckets), bucket_days=heat.bucket_days, peak=heat.peak, rows=rows)


@router.get("/sources", response_model=list[SourceOut])
def list_sources(ctx: Ctx) -> list[SourceOut]:
    """Every source with its feeds' health: last success, last error, items and the 304 rate."""
    return [
        SourceOut(
            name=s.name,
            items=s.items,
            failed_items=s.failed_items,
            briefs=s.briefs,
            last_brief_at=s.last_brief_at,
            feeds=[
                FeedOut(
                    url=f.url,
                    last_success=f.last_success,
                    last_error=f.last_error,
                    last_error_at=f.last_error_at,
                    failing_attempts=f.failing_attempts,
                    responses=f.responses,
                    not_modified=f.not_modified,
                    not_modified_rate=f.not_modified_rate,
                )
                for f in s.feeds
            ],
        )
        for s in source_health(ctx.store)
    ]


@router.get("/health", response_model=HealthOut)
def health(ctx: Ctx) -> HealthOut:
    """Liveness: the store answers; the brief count and the output formats this server offers."""
    return HealthOut(status="ok", version=__version__, briefs=ctx.queries.count(), formats=list(ctx.formats))
