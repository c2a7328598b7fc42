"""The HTML pages: brief list, brief, downloads, IOC search, techniques, heat map and sources."""

from __future__ import annotations

import mimetypes
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BeforeValidator

from huntbrief.adapters.brief_rows import normalise_ioc
from huntbrief.adapters.queries import BriefFilter
from huntbrief.adapters.source_health import source_health
from huntbrief.app.web_context import WebContext, web_context
from huntbrief.app.web_filters import TECHNIQUE_ID, form_filter, iso_day, split_iocs, with_page
from huntbrief.model import Brief, Hunt, SeverityLevel

PAGE_SIZE = 50
TECHNIQUE_BRIEFS = 50
BRIEF_ID = r"^[0-9a-f]{16}$"
Ctx = Annotated[WebContext, Depends(web_context)]
IsoDay = Annotated[date, BeforeValidator(iso_day)]
End = Annotated[IsoDay | None, Query(description="Last day of the window (UTC); default today.")]
router = APIRouter(default_response_class=HTMLResponse)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such brief (or format)."}}


def _page(ctx: WebContext, request: Request, template: str, **context: Any) -> HTMLResponse:
    return ctx.templates.TemplateResponse(request, template, {"request": request, **context})


@router.get("/", summary="Brief list (HTML)", responses={400: {"description": "A bad filter value."}})
def brief_list(request: Request, ctx: Ctx, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    """Briefs newest first, filtered by severity, source, date range, technique and free text."""
    flt = form_filter(request.query_params, request.query_params.getlist("severity"))
    found = ctx.queries.briefs(flt, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-found.total // PAGE_SIZE))
    return _page(
        ctx,
        request,
        "list.html",
        found=found,
        flt=flt,
        page=page,
        pages=pages,
        prev_url=with_page(flt, page - 1) if page > 1 else None,
        next_url=with_page(flt, page + 1) if page < pages else None,
        levels=list(SeverityLevel),
        sources=ctx.queries.sources(),
    )


def _load(ctx: WebContext, brief_id: str) -> tuple[Any, Brief]:
    found = ctx.queries.brief(brief_id)
    if found is None:
        raise HTTPException(404, "no brief with this id")
    return found


@router.get("/briefs/{brief_id}", summary="One brief (HTML)", responses=NOT_FOUND)
def brief_page(request: Request, ctx: Ctx, brief_id: Annotated[str, Path(pattern=BRIEF_ID)]) -> HTMLResponse:
    """Every section of the Markdown brief, with copy buttons and download links."""
    row, brief = _load(ctx, brief_id)
    history = ctx.store.history(row.key)
    return _page(ctx, request, "brief.html", row=row, b=brief, history=history, formats=ctx.formats)


@router.get(
    "/briefs/{brief_id}/download/{fmt}", summary="Download a brief in one format", responses=NOT_FOUND
)
def download(
    ctx: Ctx, brief_id: Annotated[str, Path(pattern=BRIEF_ID)], fmt: Annotated[str, Path(max_length=40)]
) -> Response:
    """The brief rendered by the named renderer, as an attachment."""
    return rendered(ctx, brief_id, fmt, attachment=True)


def rendered(ctx: WebContext, brief_id: str, fmt: str, *, attachment: bool) -> Response:
    """A brief rendered in `fmt` (404 for an unknown brief or format) with a matching media type."""
    renderer = ctx.formats.get(fmt)
    if renderer is None:
        raise HTTPException(404, f"unknown format; valid: {', '.join(ctx.formats)}")
    _, brief = _load(ctx, brief_id)
    media = mimetypes.guess_type(f"brief.{renderer.extension}")[0] or "text/plain"
    if renderer.extension == "md":
        media = "text/markdown"
    headers = {"Content-Disposition": f'attachment; filename="huntbrief-{brief_id}.{renderer.extension}"'}
    return Response(renderer.render(brief), media_type=media, headers=headers if attachment else None)


@router.get("/iocs", summary="IOC search (HTML)")
def ioc_search(request: Request, ctx: Ctx, q: Annotated[str, Query(max_length=20_000)] = "") -> HTMLResponse:
    """Every brief that mentions the pasted indicators (defanged or not)."""
    values = split_iocs(q)
    matches = ctx.queries.iocs(values)
    by_value = {v: [m for m in matches if m.query == normalise_ioc(v)] for v in values}
    return _page(ctx, request, "iocs.html", q=q, by_value=by_value)


@router.get("/techniques", summary="Techniques seen (HTML)")
def techniques(
    request: Request, ctx: Ctx, days: Annotated[int, Query(ge=1, le=3650)] = 90, end: End = None
) -> HTMLResponse:
    """ATT&CK techniques named by briefs in the `days` days up to `end` (today), most briefs first."""
    first, last = window(end, days)
    found = ctx.queries.techniques(since=first, until=last)
    return _page(ctx, request, "techniques.html", found=found, days=days, end=last)


@router.get(
    "/techniques/{technique}",
    summary="One technique (HTML)",
    responses={404: {"description": "Not an ATT&CK ID."}},
)
def technique_page(
    request: Request, ctx: Ctx, technique: Annotated[str, Path(pattern=TECHNIQUE_ID)]
) -> HTMLResponse:
    """The briefs naming a technique (or its sub-techniques) and the hunts they recommend for it."""
    tid = technique.upper()
    found = ctx.queries.briefs(BriefFilter(technique=tid), limit=TECHNIQUE_BRIEFS)
    hunts = technique_hunts(ctx.queries.full_briefs([r.key for r in found.rows]), tid)
    names = [t.name for t in ctx.queries.techniques() if t.id == tid]
    return _page(
        ctx, request, "technique.html", tid=tid, name=names[0] if names else "", found=found, hunts=hunts
    )


def window(end: date | None, days: int) -> tuple[date, date]:
    """First and last day of a `days`-day window ending on `end` (today, UTC); never before date.min."""
    last = end if end is not None else datetime.now(UTC).date()
    return last - timedelta(days=min(days - 1, (last - date.min).days)), last


def technique_hunts(briefs: list[Brief], tid: str) -> list[Hunt]:
    """The distinct hunts (by id, newest brief first) that target `tid` or one of its sub-techniques."""
    seen: dict[str, Hunt] = {}
    for brief in briefs:
        for hunt in brief.hunts:
            if any(t == tid or t.startswith(tid + ".") for t in hunt.techniques):
                seen.setdefault(hunt.id, hunt)
    return list(seen.values())


@router.get("/heatmap", summary="Technique heat map (HTML)")
def heatmap(
    request: Request,
    ctx: Ctx,
    days: Annotated[int, Query(ge=7, le=730)] = 90,
    bucket: Annotated[int, Query(ge=1, le=90)] = 7,
    top: Annotated[int, Query(ge=1, le=100)] = 25,
    end: End = None,
) -> HTMLResponse:
    """Briefs per technique per time bucket over the `days` days up to `end` (today)."""
    first, last = window(end, days)
    found = ctx.queries.heatmap(first, last, bucket_days=bucket, top=top)
    return _page(ctx, request, "heatmap.html", heat=found, days=days, bucket=bucket, end=last)


@router.get("/sources", summary="Sources and feed health (HTML)")
def sources(request: Request, ctx: Ctx) -> HTMLResponse:
    """Each source's feeds: last success, last error, items, briefs and the 304 rate."""
    return _page(ctx, request, "sources.html", sources=source_health(ctx.store))
