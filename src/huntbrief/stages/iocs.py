"""The IOC stage: indicators of compromise in an article, refanged, validated and de-noised.

`find_indicators` composes three steps: `refang` the text, `scan` it for candidates of every
kind (stages/ioc_scan.py), then keep, grade and deduplicate them here. Every rejected candidate
is returned in `IocFindings.suppressed` with its reason.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from huntbrief.catalog.noise import NoiseLists
from huntbrief.catalog.phrases import Phrases
from huntbrief.model import Article, Confidence, Indicator, IndicatorKind, IocFindings, Suppressed
from huntbrief.stages.ioc_html import html_blocks
from huntbrief.stages.ioc_scan import scan
from huntbrief.stages.ioc_scope import LEGITIMATE, Hit, Scope
from huntbrief.stages.ioc_seek import phrase_lines, utf8_starts
from huntbrief.stages.refang import Refanged, defang_email, defang_host, defang_url, refang, url_host

_MD_HEADING = re.compile(r"#{1,6}[ \t]+(?P<title>.*)")
_BOLD_LINE = re.compile(r"\*\*(?P<title>[^*]{1,80})\*\*:?[ \t]*")
_SETEXT = re.compile(r"(?:={3,}|-{3,})[ \t]*")
_SPACES = re.compile(r"\s+")
# lines that may be markdown or bold headings (after the line feed before them), and setext underlines
_MARKED_LINE = re.compile(r"\n(?=[^\S\n]*+(?:#|\*\*))")
_MARKED_FIRST = re.compile(r"[^\S\n]*+(?:#|\*\*)")
_UNDERLINE = re.compile(r"\n(?=---|===)")
_EVIDENCE_CHARS = 300
Heading = tuple[int, int, str, bool]  # (offset, level, title, is a plain line)


def find_indicators(article: Article, noise: NoiseLists) -> IocFindings:
    """Indicators in `article.text` and its HTML blocks (refanged, validated, noise removed), plus rejects.

    Pure: no I/O or clock. Deduplicated by (kind, value): text findings first, in order of first
    occurrence, then those only the HTML's tables, <pre> and <code> blocks hold.
    """
    found = scan_text(article.text, article, noise)
    blocks = html_blocks(article.html) if article.html else ""
    if not blocks:
        return found
    return merge_findings(found, scan_text(blocks, article, noise))


def scan_text(text: str, article: Article, noise: NoiseLists) -> IocFindings:
    """Indicators in one text of `article` (its analysis text, or text rendered from its HTML)."""
    rf = refang(text)
    encoded = rf.text.encode("utf-8", "surrogatepass")
    sections, references = sections_under(
        rf.text, (noise.ioc_headings, noise.reference_headings), noise.section_end_headings, data=encoded
    )
    scope = Scope(
        rf=rf,
        noise=noise,
        own_domains=_own_domains(article, noise),
        own_label=re.sub(r"[^a-z0-9]", "", article.source.lower()),
        sections=sections,
        references=references,
        cve_years=_cve_years(article, noise),
        backwards=rf.text[::-1],
        encoded=encoded,
    )
    return _assemble(scan(scope), scope)


def merge_findings(first: IocFindings, extra: IocFindings) -> IocFindings:
    """`first` plus the indicators only `extra` has; a value `first` judged legitimate stays out.

    A value found in both keeps the higher confidence and `first`'s evidence.
    """
    legitimate = {(s.kind, s.value) for s in first.suppressed if s.reason == LEGITIMATE}
    extra_by_key = {(i.kind, i.value): i for i in extra.indicators}
    kept = [
        replace(i, confidence=Confidence.HIGH)
        if extra_by_key.get((i.kind, i.value), i).confidence is Confidence.HIGH
        else i
        for i in first.indicators
    ]
    seen = {(i.kind, i.value) for i in kept}
    kept += [i for key, i in extra_by_key.items() if key not in seen and key not in legitimate]
    seen = {(i.kind, i.value) for i in kept}
    rejected = {(s.kind, s.value): s for s in (*first.suppressed, *extra.suppressed)}
    return IocFindings(
        indicators=tuple(kept), suppressed=tuple(s for key, s in rejected.items() if key not in seen)
    )


def heading_sections(
    text: str, opener: Phrases, closer: Phrases, marks: list[Heading] | None = None
) -> tuple[tuple[int, int], ...]:
    """Spans of `text` under headings matching `opener` ("Indicators of Compromise", "References", ...).

    A span ends at the next heading of the same or a higher level that does not match `opener`;
    a plain line counts as a heading only when short and matching `opener`, or exactly a `closer`.
    `marks` are `headings(text)` when the caller already has them.
    """
    return sections_under(text, (opener,), closer, marks)[0]


def sections_under(
    text: str,
    openers: tuple[Phrases, ...],
    closer: Phrases,
    marks: list[Heading] | None = None,
    data: bytes = b"",
) -> tuple[tuple[tuple[int, int], ...], ...]:
    """`heading_sections` for several openers at once, one pass over the headings (each title is
    lower-cased and checked against `closer` once).

    Without `marks`, only the headings that may open or close a section are read (`section_marks`;
    `data`: `text` in UTF-8 when the caller has it).
    """
    spans: list[list[tuple[int, int]]] = [[] for _ in openers]
    open_at: list[int | None] = [None] * len(openers)
    open_level = [0] * len(openers)
    for offset, level, title, plain in (
        section_marks(text, (*openers, closer), data) if marks is None else marks
    ):
        lowered = title.lower()
        opens = [opener.found_in_lower(lowered) for opener in openers]
        line_only = plain and not all(opens) and not closer.is_whole_lower(lowered)
        for index, opening in enumerate(opens):
            at = open_at[index]
            rank = 99 if line_only and not opening else level  # 99: an ordinary short line
            if at is not None and rank <= open_level[index] and not opening:
                spans[index].append((at, offset))
                at = open_at[index] = None
            if opening:
                open_at[index] = offset if at is None else at
                open_level[index] = level if at is None else min(open_level[index], level)
    for index, at in enumerate(open_at):
        if at is not None:
            spans[index].append((at, len(text)))
    return tuple(tuple(found) for found in spans)


def section_marks(text: str, phrases: tuple[Phrases, ...], data: bytes = b"") -> list[Heading]:
    """The `headings(text)` that `sections_under` needs when `phrases` are its openers and closer.

    Those are every markdown, setext and bold heading, and the plain lines whose title holds one of
    `phrases`: a plain line without them changes no section. Lines are picked where a heading
    marker, an underline or (one RE2 pass over `data`, `text` in UTF-8) a phrase may be; a title is
    its line less whitespace and "*_:#." around it, so a phrase in the title is one in the line.
    All of `headings(text)` when the phrases cannot be sought so, or `text` holds "İ".
    """
    seeker = _phrase_seeker(phrases)
    if seeker is None or "\u0130" in text:
        return headings(text)
    starts = {match.start() + 1 for match in _MARKED_LINE.finditer(text)}
    starts.update(text.rfind("\n", 0, match.start()) + 1 for match in _UNDERLINE.finditer(text))
    starts.update(utf8_starts(seeker, data or text.encode("utf-8", "surrogatepass"), text, 0))
    if _MARKED_FIRST.match(text):
        starts.add(0)
    return [(start, *found) for start in sorted(starts) if (found := _line_heading(text, start)) is not None]


@lru_cache(maxsize=8)
def _phrase_seeker(phrases: tuple[Phrases, ...]) -> Any | None:
    """`phrase_lines` for `phrases` (None when one of them cannot be sought with RE2)."""
    sources: list[str] = []
    for phrase in phrases:
        source = phrase.alternation()
        if source is None:
            return None
        sources.append(source)
    return phrase_lines(tuple(sources))


def _line_heading(text: str, start: int) -> tuple[int, str, bool] | None:
    """`_heading` of the line of `text` that starts at `start` (with the line after it)."""
    end = text.find("\n", start)
    if end == -1:
        return _heading(text[start:], "")
    if end - start > 120:
        return None
    after = text.find("\n", end + 1)
    return _heading(text[start:end], text[end + 1 : len(text) if after == -1 else after])


def headings(text: str) -> list[Heading]:
    """(offset, level, title, is a plain line) of every line of `text` that may be a heading."""
    found: list[Heading] = []
    lines = text.split("\n")
    offset = 0
    for index, line in enumerate(lines):
        if len(line) <= 120 and line.strip():
            heading = _heading(line, lines[index + 1] if index + 1 < len(lines) else "")
            if heading is not None:
                found.append((offset, *heading))
        offset += len(line) + 1
    return found


def _heading(line: str, following: str) -> tuple[int, str, bool] | None:
    """(level, title, is a plain line) when `line` may be a heading; None for body text."""
    if len(line) > 120 or "|" in line:
        return None
    stripped = line.strip()
    title = stripped.strip("*_:#.").strip()
    if not title:
        return None
    if stripped[0] == "#" and _MD_HEADING.fullmatch(stripped):
        return len(stripped) - len(stripped.lstrip("#")), title, False
    if following[:3] in ("---", "===") and _SETEXT.fullmatch(following.strip()):
        return (1 if following[0] == "=" else 2), title, False
    if stripped[0] == "*" and _BOLD_LINE.fullmatch(stripped):
        return 3, title, False
    if len(title) <= 60 and not stripped.endswith(".") and len(title.split()) <= 6:
        return 2, title, True
    return None


def _own_domains(article: Article, noise: NoiseLists) -> frozenset[str]:
    host = url_host(article.url or "")
    registrable = noise.parts(host)[0] if host else ""
    return frozenset({registrable} if registrable else ())


def _cve_years(article: Article, noise: NoiseLists) -> tuple[int, int]:
    high = article.published.year + 1 if article.published else noise.cve_year_max
    return noise.cve_year_min, high


def _assemble(hits: list[Hit], scope: Scope) -> IocFindings:
    first: dict[tuple[IndicatorKind, str], Hit] = {}
    high: set[tuple[IndicatorKind, str]] = set()
    rejected: dict[tuple[IndicatorKind, str], str] = {}
    legitimate = {(h.kind, h.value) for h in hits if h.reason == LEGITIMATE}
    for hit in hits:
        key = (hit.kind, hit.value)
        if key in legitimate:
            rejected.setdefault(key, LEGITIMATE)
            continue
        if hit.reason:
            rejected.setdefault(key, hit.reason)
            continue
        first.setdefault(key, hit)
        if key not in high and _presented(scope, hit):
            high.add(key)
    indicators = tuple(
        Indicator(
            kind=hit.kind,
            value=hit.value,
            defanged=display_form(hit.kind, hit.value),
            confidence=Confidence.HIGH if key in high else Confidence.MEDIUM,
            evidence=evidence(scope.rf, hit.start, hit.end),
        )
        for key, hit in first.items()
    )
    suppressed = tuple(
        Suppressed(kind, value, reason)
        for (kind, value), reason in rejected.items()
        if (kind, value) not in first
    )
    return IocFindings(indicators=indicators, suppressed=suppressed)


def _presented(scope: Scope, hit: Hit) -> bool:
    """True when the author presents the hit as an indicator: defanged, in an IOC section, or labelled."""
    return (
        hit.defanged or scope.in_section(hit.start) or scope.near(scope.noise.ioc_labels, hit.start, hit.end)
    )


def display_form(kind: IndicatorKind, value: str) -> str:
    """The defanged display form of a refanged value (`hxxp`, `[.]` on the host's last dot, `[@]`)."""
    if kind is IndicatorKind.URL:
        return defang_url(value)
    if kind is IndicatorKind.EMAIL:
        return defang_email(value)
    if kind in (IndicatorKind.DOMAIN, IndicatorKind.IPV4, IndicatorKind.CIDR):
        return defang_host(value)
    return value


def evidence(rf: Refanged, start: int, end: int) -> str:
    """The original line around refanged span [start, end), narrowed to its sentence and ~300 chars."""
    text = rf.original
    s = rf.original_offset(start)
    e = max(s + 1, rf.original_offset(max(start, end - 1)) + 1)
    low, high = max(0, s - 2000), min(len(text), e + 2000)
    left = text.rfind("\n", low, s) + 1 or low
    right = text.find("\n", e, high)
    right = high if right == -1 else right
    if right - left > _EVIDENCE_CHARS:
        stop = text.rfind(". ", left, s)
        left = stop + 2 if stop != -1 else left
        stop = text.find(". ", e, right)
        right = stop + 1 if stop != -1 else right
    if right - left > _EVIDENCE_CHARS:
        half = max(0, (_EVIDENCE_CHARS - (e - s)) // 2)
        left, right = max(left, s - half), min(right, e + half)
        return "…" + _SPACES.sub(" ", text[left:right]).strip() + "…"
    return _SPACES.sub(" ", text[left:right]).strip()
