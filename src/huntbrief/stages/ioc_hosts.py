"""Host indicator scanners: URLs, e-mail addresses and domains (addresses: stages/ioc_addresses.py).

Each scanner gets the spans already claimed (URLs, e-mails) and returns `Hit`s, rejected ones with
a reason. Regexes are linear: labels cannot contain their separators, runs are possessive and
starts are pinned by look-behinds, so no input makes them backtrack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from huntbrief.model import IndicatorKind
from huntbrief.stages.ioc_glue import (
    glued_to_label,
    leading_glue,
    trailing_glue,
    url_sentence_tail,
)
from huntbrief.stages.ioc_scope import (
    LEGITIMATE,
    Hit,
    K,
    Scope,
    Span,
    benign_host,
    covering,
    host_kind,
    ip_verdict,
    legitimate_context,
    trim,
)
from huntbrief.stages.ioc_seek import URL_CHARS, email_spans, grown_back, url_spans
from huntbrief.stages.ioc_verdicts import domain_reason, host_verdict
from huntbrief.stages.refang import url_host

_URL_CHARS = URL_CHARS
_URL_GLUE = re.compile(r"(?i)(?<=[\w/])(?:https?|ftp)://")
_HOST_END = re.compile(r"[/?#]")
_PATH_TAIL = re.compile(rf"(?::\d{{1,5}})?/{_URL_CHARS}*+")
_DOMAIN = re.compile(r"[A-Za-z0-9](?<![\w.@/\\-].)[A-Za-z0-9-]*+(?:\.[A-Za-z0-9-]++)++")
# A _DOMAIN match starts where the run of label characters before its first dot starts (its left
# look-behind allows nothing else).
_LABEL_DOT = re.compile(r"\.(?=[A-Za-z0-9-])")
_LABEL_RUN = re.compile(r"[A-Za-z0-9-]*+")
_CELL_TAIL = re.compile(r"([^\s|]{1,500}+)[ \t]*\|")
_HEX_HEAD = re.compile(r"[0-9a-f]{32,}+")
_HASH_SIZES = {64: K.SHA256, 40: K.SHA1, 32: K.MD5}


def scan_urls(scope: Scope) -> list[Hit]:
    """URLs with a scheme (refanged), split where several were glued together without a separator."""
    hits: list[Hit] = []
    text = scope.rf.text
    for url_start, url_end in url_spans(text):
        if url_start and (text[url_start - 1].isalnum() or text[url_start - 1] == "_"):
            continue  # "xhttp://" is not a URL scheme
        body = text.find("://", url_start) + 3
        cuts = [url_start]
        if text.find("://", body, url_end) != -1:  # each glued URL brings its own "://"
            cuts += (m.start() for m in _URL_GLUE.finditer(text, body, url_end))
        for start, stop in zip(cuts, [*cuts[1:], url_end], strict=True):
            end = trim(text, start, stop)
            end -= url_sentence_tail(text[start:end])
            first = text[start:end].partition("://")[2][:1]
            if first.isalnum() or first == "[":
                hits += url_hits(scope, start, end, _wrapped_cell(text, start, end))
    return hits


def _wrapped_cell(text: str, start: int, end: int) -> str:
    """The rest of a URL that a Markdown table cell wrapped onto the next line ("" when none).

    A table row is one line, so a row left open after a URL ending in "/" continues on the next line.
    """
    if text[end - 1 : end + 1] != "/\n":
        return ""
    row = text.rfind("\n", max(0, start - 2000), start) + 1
    if text[row : row + 1] != "|" or "|" not in text[row:start]:
        return ""
    tail = _CELL_TAIL.match(text, end + 1)
    return tail.group(1) if tail else ""


def url_hits(scope: Scope, start: int, end: int, wrapped: str = "") -> list[Hit]:
    """Judge the URL at [start, end) (+ `wrapped`, its rest on the next line): the URL, plus its host."""
    raw = scope.rf.text[start:end] + wrapped
    value, host = _canonical_url(raw)
    defanged = scope.rf.defanged(start, end)
    judged = host_kind(scope, host)
    reason = _url_reason(scope, raw, host, start, defanged, judged)
    hits = [Hit(K.URL, value, start, end, defanged, reason)]
    if not reason:
        kind = judged[0] or K.DOMAIN
        if not scope.noise.url_hosts_as_indicators:
            hits.append(Hit(kind, host, start, end, defanged, "URL host (policy: not emitted on its own)"))
        elif kind is K.DOMAIN:
            # `domain_reason` less what the URL settled: it passed the same legitimate-site test at
            # `start`, and a URL's host is presented; only the host's own verdict is left
            host_reason = host_verdict(scope, host)
            hits.append(Hit(K.DOMAIN, host, start, end, defanged, host_reason))
        else:
            address, host_reason = ip_verdict(scope, host)
            hits.append(Hit(kind, address, start, end, defanged, host_reason))
    return hits


def _canonical_url(raw: str) -> tuple[str, str]:
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest = "", raw
    stop = _HOST_END.search(rest)
    cut = stop.start() if stop else len(rest)
    user, at, hostport = rest[:cut].rpartition("@")
    canonical = f"{user}{at}{hostport.lower()}{rest[cut:]}"
    return (f"{scheme.lower()}://{canonical}" if sep else canonical), url_host(raw)


def _url_reason(
    scope: Scope, raw: str, host: str, start: int, defanged: bool, judged: tuple[IndicatorKind | None, str]
) -> str:
    """Why a URL is not an indicator ("" when it is); `judged` is `host_kind` of its host."""
    kind, registrable = judged
    if kind is None:
        return "URL without a valid host"
    if kind is not K.DOMAIN and ip_verdict(scope, host)[1]:
        return f"URL on a {ip_verdict(scope, host)[1]}"
    if registrable and scope.is_own(registrable):
        return "link to the article's own site"
    if benign_host(scope, host, registrable):
        return "well-known benign site"
    if not scope.in_section(start) and legitimate_context(scope, start):
        return LEGITIMATE
    text = scope.rf.text
    end = start + len(raw)
    if end < len(text) and text[end] in "{<[":
        return "URL template with placeholders"
    return "" if defanged else _plain_url_reason(scope, raw, host, start)


def _plain_url_reason(scope: Scope, raw: str, host: str, start: int) -> str:
    """Why a URL the author did not defang is page furniture or a citation ("" when it is an indicator)."""
    text, noise = scope.rf.text, scope.noise
    before = text[max(0, start - 2) : start]
    if before == "](" and text.rfind("![", max(0, start - 400), start) > text.rfind("\n", 0, start):
        return "image link"
    presented = scope.in_section(start)
    path = raw.partition("://")[2].partition("/")[2].split("?", 1)[0].split("#", 1)[0]
    if path and path.rpartition(".")[2].lower() in noise.asset_extensions and not presented:
        return "page asset (image, style or script)"
    if (before == "](" and not presented) or scope.in_references(start):
        return "reference link"
    if noise.listed(host, noise.code_hosting) and not presented:
        return "code-hosting link (a tool or rule reference) not presented as an indicator"
    if not path and noise.listed(host, noise.hosting_platforms) and not presented:
        return "hosting-platform home page"
    return ""


def url_tail(scope: Scope, end: int) -> int:
    """End of a scheme-less URL's port/path after a host ending at `end`; `end` when there is none."""
    text = scope.rf.text
    tail = _PATH_TAIL.match(text, end)
    stop = trim(text, end, tail.end()) if tail else end
    path = text[end:stop].partition("/")[2]
    if not path:
        return end
    if "/" not in path and "." in path and scope.parts(path.lower())[0]:
        return end  # "host/other-host" notation, not a path
    return stop


def scan_emails(scope: Scope, spans: list[Span]) -> Iterator[Hit]:
    """E-mail addresses whose domain has a public suffix; own-site and benign domains rejected."""
    text = scope.rf.text
    for start, end in email_spans(text):
        if covering(spans, start):
            continue
        local, _, domain = text[start:end].rpartition("@")
        domain = domain.lower().strip("-")
        registrable, _ = scope.parts(domain)
        if not registrable:
            continue
        reason = ""
        if scope.is_own(registrable):
            reason = "address at the article's own site"
        elif benign_host(scope, domain, registrable):
            reason = "address at a well-known benign domain"
        defanged = scope.rf.defanged(start, end)
        yield Hit(K.EMAIL, f"{local}@{domain}", start, end, defanged, reason)


def scan_domains(scope: Scope, spans: list[Span]) -> Iterator[Hit]:
    """Host names with a public suffix, and scheme-less URLs (host followed by a path)."""
    text = scope.rf.text
    skip_until = 0
    matches = grown_back(_DOMAIN, _LABEL_DOT, _LABEL_RUN, text, scope.text_backwards())
    scope.sets["alone"] = frozenset(match.group().lower() for match in matches)
    tlds = scope.noise.tlds
    ends = host_ends(tlds)
    for match in matches:
        start, end = match.start(), match.end()
        if start < skip_until or covering(spans, start) or (end < len(text) and text[end] in "_@"):
            continue
        written = match.group()
        if _no_host(written[written.rfind(".") + 1 :], ends) and not scope.rf.defanged(start, end):
            continue  # cannot be a host, even after undoing glue
        written = written[: trailing_glue(scope, written)]
        cut = leading_glue(scope, written, start)
        start, end, written = start + cut, start + len(written), written[cut:]
        host = written.lower()
        defanged = scope.rf.defanged(start, end)
        if not scope.parts(host)[0]:
            if defanged and not host.replace(".", "").isdigit():
                yield Hit(K.DOMAIN, host, start, end, True, "no public suffix (a file name?)")
            continue
        stop = url_tail(scope, end)
        if stop > end:
            skip_until = stop
            yield from url_hits(scope, start, stop)
            continue
        yield from _unglue(scope, host, start, end, defanged) or [
            Hit(
                K.DOMAIN,
                host,
                start,
                end,
                defanged,
                domain_reason(scope, host, written, start, (defanged, False)),
            )
        ]


@lru_cache(maxsize=4)
def host_ends(tlds: frozenset[str]) -> frozenset[str]:
    """The last labels of the public suffixes `tlds` ("ck" of "*.ck"): a host ending otherwise has none."""
    return frozenset(suffix.rpartition(".")[2] for suffix in tlds)


def _no_host(last: str, ends: frozenset[str]) -> bool:
    """True when a match with last label `last` is no host name, even once glue is undone (if not defanged).

    Skipped: a label that no public suffix ends with ("exe", "txt"; the last label of a suffix
    counts even when it is no suffix itself: "za" of "co.za"), when it is lower-case or no
    capitalised word is glued to it, since its host would have no registrable domain. A punycode
    label ("xn--p1ai") is looked up decoded, so it is never skipped.
    """
    low = last.lower()
    if low in ends or low.startswith("xn--"):
        return False
    return last.islower() or not glued_to_label(last)


def _unglue(scope: Scope, host: str, start: int, end: int, defanged: bool) -> list[Hit]:
    """Split a hash glued to a host by a flattened table ("<sha1>c2.example"), when presented as IOCs."""
    head = _HEX_HEAD.match(host)
    if head is None or not (defanged or scope.in_section(start)):
        return []
    for size, kind in _HASH_SIZES.items():
        rest = host[size:]
        if size <= len(head.group()) <= size + 2 and rest[:1].isalnum() and scope.parts(rest)[0]:
            reason = domain_reason(scope, rest, rest, start + size, (defanged, False))
            return [
                Hit(kind, host[:size], start, start + size, defanged),
                Hit(K.DOMAIN, rest, start + size, end, defanged, reason),
            ]
    return []
