"""Candidate scan for the IOC stage: run every scanner in claim order, plus hashes and CVEs.

URLs claim their text first, then e-mail addresses, IPv4 and domains (which may claim scheme-less
URLs); hashes and CVEs inside a claimed URL are rejected unless the URL is a hash-lookup link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from operator import attrgetter

from huntbrief.stages.ioc_addresses import scan_ipv4, scan_ipv6
from huntbrief.stages.ioc_artifacts import scan_asns, scan_file_names, scan_paths, scan_registry
from huntbrief.stages.ioc_hosts import scan_domains, scan_emails, scan_urls
from huntbrief.stages.ioc_scope import Hit, K, Scope, Span, covering
from huntbrief.stages.ioc_seek import re2_candidates, retried, utf8_starts
from huntbrief.stages.ioc_wallets import WALLET_SEEDS, scan_wallets

_HEX = re.compile(r"[0-9A-Fa-f](?<![0-9A-Za-z].)[0-9A-Fa-f]{31,}+(?![0-9A-Za-z])")
# where an _HEX match can start: 32 hex digits after a non-alphanumeric (or at the start)
_HEX_STARTS = re2_candidates(rb"(?:^|[^0-9A-Za-z])([0-9A-Fa-f]{32})")
_CVE = re.compile(r"[Cc][Vv][Ee](?<![\w-]...)[-‐‑–—_ ]?(?P<year>\d{4})[-‐‑–—_](?P<seq>\d{4,7})(?!\d)")
_CVE_STARTS = re2_candidates(rb"([Cc][Vv][Ee])")
# Every hash, CVE and wallet candidate starts a run of ASCII letters and digits (each pattern refuses
# a start after one), and each seed below lies inside that run: so one RE2 pass finds the starts of
# all those kinds, a seed of one kind never hiding the start of another.
_TOKEN_SEEDS = (rb"[0-9A-Fa-f]{32}", rb"[Cc][Vv][Ee]", *WALLET_SEEDS)
_TOKEN_STARTS = re2_candidates(rb"(?:^|[^0-9A-Za-z])(" + b"|".join(_TOKEN_SEEDS) + rb")")
_HASH_KINDS = {32: K.MD5, 40: K.SHA1, 64: K.SHA256, 128: K.SHA512}
_ORDER = {
    kind: index
    for index, kind in enumerate(
        (K.URL, K.EMAIL, K.REGISTRY_KEY, K.FILE_PATH, K.CIDR, K.IPV4, K.IPV6, K.DOMAIN, K.FILE_NAME)
    )
}
_CLAIMS = (K.URL, K.EMAIL, K.REGISTRY_KEY, K.FILE_PATH)


def scan(scope: Scope) -> list[Hit]:
    """All candidate hits of every kind, sorted by position (a URL before the host taken from it)."""
    hits = scan_urls(scope)
    spans = _spans_of(scope, hits)
    for scanner in (scan_emails, scan_registry, scan_paths, scan_ipv4, scan_domains):
        found = list(scanner(scope, spans))
        spans = _merge(spans, _spans_of(scope, found))
        hits += found
    starts = token_starts(scope)
    hits += scan_ipv6(scope, spans)
    hits += scan_hashes(scope, spans, starts)
    hits += scan_cves(scope, spans, starts)
    hits += scan_file_names(scope, spans)
    hits += scan_asns(scope, spans)
    hits += scan_wallets(scope, spans, starts)
    return by_position(hits)


def by_position(hits: list[Hit]) -> list[Hit]:
    """`hits` sorted by (start, claim order of the kind), ties kept in order.

    Hits are dealt into one list per kind rank, then one stable sort by start orders them: the same
    order as a sort on (start, rank) without a key tuple per hit.
    """
    ranked: list[list[Hit]] = [[] for _ in range(len(_ORDER) + 1)]
    for hit in hits:
        ranked[_ORDER.get(hit.kind, len(_ORDER))].append(hit)
    return sorted(chain.from_iterable(ranked), key=attrgetter("start"))


def token_starts(scope: Scope) -> list[int]:
    """Sorted offsets where a hash, CVE or wallet address may start (one RE2 pass for all three)."""
    return list(utf8_starts(_TOKEN_STARTS, scope.utf8(), scope.rf.text))


def _spans_of(scope: Scope, hits: list[Hit]) -> list[Span]:
    text = scope.rf.text
    return sorted(
        (h.start, h.end, h.kind is K.URL and scope.is_lookup(text[h.start : h.end]))
        for h in hits
        if h.kind in _CLAIMS
    )


def _merge(old: list[Span], new: list[Span]) -> list[Span]:
    """Claimed spans, sorted, with any span inside an earlier claim dropped (keeps them disjoint)."""
    merged: list[Span] = []
    for span in sorted(old + new):
        if merged and span[0] < merged[-1][1]:
            continue
        merged.append(span)
    return merged


def scan_hashes(scope: Scope, spans: list[Span], starts: list[int] | None = None) -> Iterator[Hit]:
    """MD5/SHA-1/SHA-256/SHA-512 by exact hex length, never cut out of a longer run, URL or identifier.

    `starts`: offsets where a hash may start (`token_starts`), else found by the hash's own RE2.
    """
    text = scope.rf.text
    tried = starts if starts is not None else utf8_starts(_HEX_STARTS, scope.utf8(), text)
    matches = list(retried(_HEX, tried, text))
    alone = {match.group().lower() for match in matches if len(match.group()) == 64}
    for match in matches:
        start, end = match.start(), match.end()
        run = match.group().lower()
        reason = _hex_context(text, start, end, covering(spans, start))
        if not reason and len(run) not in _HASH_KINDS:
            chunks = _split_run(scope, run, start, alone)
            if chunks:
                yield from chunks
                continue
            reason = f"hex run of {len(run)} characters (not a hash length)"
        kind = _HASH_KINDS.get(len(run), K.SHA512 if len(run) > 128 else K.MD5)
        yield Hit(kind, run, start, end, scope.rf.defanged(start, end), reason or _hash_reason(scope, run))


def _hex_context(text: str, start: int, end: int, claim: Span | None) -> str:
    if claim is not None and not claim[2]:
        return "inside a URL (a parameter or path, not a file hash)"
    if claim is None and start and text[start - 1] == "/":
        return "inside a path"
    left, right = text[max(0, start - 2) : start], text[end : end + 2]
    if (left[-1:] == "-" and left[:1].isalnum()) or (right[:1] == "-" and right[1:].isalnum()):
        return "part of a longer identifier (UUID-like)"
    return ""


def _hash_reason(scope: Scope, value: str) -> str:
    if value in scope.noise.empty_file_hashes:
        return "hash of empty input"
    if len(set(value)) == 1:
        return "a single repeated character"
    if value.isdigit():
        return "all digits (a number, not a hash)"
    return ""


def _split_run(scope: Scope, run: str, start: int, alone: set[str]) -> list[Hit]:
    """Several SHA-256 glued together, split only when one of them also stands alone in the text."""
    if len(run) % 64 or len(run) < 192:
        return []
    chunks = [run[i : i + 64] for i in range(0, len(run), 64)]
    if not alone.intersection(chunks):
        return []
    return [
        Hit(K.SHA256, chunk, start + 64 * i, start + 64 * (i + 1), False, _hash_reason(scope, chunk))
        for i, chunk in enumerate(chunks)
    ]


def scan_cves(scope: Scope, spans: list[Span], starts: list[int] | None = None) -> Iterator[Hit]:
    """CVE identifiers with a plausible year, upper-cased; one only inside a link is rejected.

    `starts`: offsets where a CVE may start (`token_starts`), else found by the CVE's own RE2.
    """
    low, high = scope.cve_years
    text = scope.rf.text
    tried = starts if starts is not None else utf8_starts(_CVE_STARTS, scope.utf8(), text)
    for match in retried(_CVE, tried, text):
        value = f"CVE-{match.group('year')}-{match.group('seq')}"
        reason = ""
        if not low <= int(match.group("year")) <= high:
            reason = f"implausible CVE year (outside {low}..{high})"
        elif covering(spans, match.start()):
            reason = "only inside a link"
        yield Hit(K.CVE, value, match.start(), match.end(), False, reason)
