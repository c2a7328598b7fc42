"""Shared vocabulary of the IOC scanners: a candidate `Hit`, the per-article `Scope`, host verdicts.

Nothing here scans; it answers questions the scanners ask (is this span inside a URL or an IOC
section, is this host benign, is this address routable).
"""

from __future__ import annotations

import ipaddress
import re
import sys
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import NamedTuple

from huntbrief.catalog.noise import NoiseLists
from huntbrief.catalog.phrases import Phrases
from huntbrief.model import IndicatorKind
from huntbrief.stages.refang import Refanged

K = IndicatorKind
Span = tuple[int, int, bool]  # (start, end, a hash-lookup link whose hashes count)
TRAILING = ".,;:!?*'\"…"
_GAP_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_GAP_JUNK = re.compile(r"[\s\"'“”‘’(]*")
LEGITIMATE = "the legitimate site an actor imitates or malware probes (context, not an indicator)"
_HOST = re.compile(r"(?<![\w.@/\\-])[a-z0-9][a-z0-9-]*+(?:\.[a-z0-9-]++)++")
_SPECIAL_V4 = (
    (ipaddress.ip_network("192.0.2.0/24"), "documentation range"),
    (ipaddress.ip_network("198.51.100.0/24"), "documentation range"),
    (ipaddress.ip_network("203.0.113.0/24"), "documentation range"),
    (ipaddress.ip_network("100.64.0.0/10"), "shared CGNAT range"),
)


class Hit(NamedTuple):
    """One candidate occurrence (refanged offsets); a non-empty `reason` means it was rejected.

    A named tuple, not a frozen dataclass: as immutable, and built about three times faster (an
    article yields tens of thousands of candidates).
    """

    kind: IndicatorKind
    value: str
    start: int
    end: int
    defanged: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Scope:
    """What the scanners know about one article: its refanged text, noise lists and context."""

    rf: Refanged
    noise: NoiseLists
    own_domains: frozenset[str]
    own_label: str
    sections: tuple[tuple[int, int], ...]
    references: tuple[tuple[int, int], ...]
    cve_years: tuple[int, int]
    backwards: str = ""  # rf.text reversed, where runs before an anchor are measured (ioc_seek.grown_back)
    encoded: bytes = b""  # rf.text in UTF-8, where RE2 finds candidate starts (ioc_seek.utf8_starts)
    memo: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False, repr=False)
    verdicts: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict, compare=False, repr=False)
    sets: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    def utf8(self) -> bytes:
        """rf.text in UTF-8 (`encoded`, or computed when the scope was built without it)."""
        return self.encoded or self.rf.text.encode("utf-8", "surrogatepass")

    def text_backwards(self) -> str:
        """rf.text reversed (`backwards`, or computed when the scope was built without it)."""
        return self.backwards or self.rf.text[::-1]

    def in_section(self, pos: int) -> bool:
        """True when `pos` lies in an indicator section (IOC heading up to the next heading)."""
        return _inside(self.sections, pos)

    def in_references(self, pos: int) -> bool:
        """True when `pos` lies in a references / sources list."""
        return _inside(self.references, pos)

    def near(self, labels: Phrases, start: int, end: int, reach: int = 150) -> bool:
        """True when one of `labels` starts on the line of [start, end), within `reach` chars, outside it.

        Looked up in that window only, so the cost follows the candidates, not the article's length.
        """
        text = self.rf.text
        left = max(text.rfind("\n", max(0, start - reach), start) + 1, start - reach, 0)
        right = text.find("\n", end, end + reach)
        right = min(end + reach, len(text)) if right == -1 else right
        return any(not start <= at < end for at in self.label_starts(labels, left, right))

    def label_starts(self, labels: Phrases, left: int, right: int) -> list[int]:
        """Offsets in [left, right) of rf.text where one of `labels` starts as a word (case-insensitive).

        Only that window is lower-cased (plus the character before it, for the word boundary).
        """
        base = max(0, left - 1)
        window = same_length_lower(self.rf.text[base:right])
        return [base + at for at in labels.starts(window, left - base, right - base)]

    def alone(self) -> frozenset[str]:
        """Every lower-case host-shaped token of the text (recorded by the domain scan, else computed)."""
        found = self.sets.get("alone")
        if found is None:
            lowered = same_length_lower(self.rf.text)
            found = self.sets["alone"] = frozenset(m.group() for m in _HOST.finditer(lowered))
        return found

    def is_own(self, registrable: str) -> bool:
        """True when a registrable domain is the article's own site (its URL, or the publisher's name)."""
        label = registrable.split(".", 1)[0].replace("-", "")
        return registrable in self.own_domains or (len(self.own_label) >= 4 and label == self.own_label)

    def parts(self, host: str) -> tuple[str, str]:
        """(registrable domain, public suffix) of a lower-case host; ("", "") when it is not a host name."""
        if not host or len(host) > 253 or ".." in host:
            return "", ""
        found = self.memo.get(host)
        if found is None:
            found = self.memo[host] = self.noise.parts(host)
        return found

    def is_lookup(self, raw: str) -> bool:
        """True when a URL is a hash-lookup link (VirusTotal file page, ...) whose hash is an indicator."""
        bare = (raw.partition("://")[2] or raw).lower()
        bare = bare[4:] if bare.startswith("www.") else bare
        return bare.startswith(self.noise.hash_lookup_urls)


def same_length_lower(text: str) -> str:
    """`text` lower-cased with every offset kept: "İ", whose lower case is two characters, stays."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "\u0130".join(part.lower() for part in text.split("\u0130"))


def legitimate_context(scope: Scope, start: int) -> bool:
    """True when a legitimate-site cue governs the host at `start` ("lookalike of the legitimate site X").

    Only site nouns, articles and capitalised names may sit between cue and host; a compromise
    word just before the cue ("compromised legitimate website X") cancels it.
    """
    text = scope.rf.text
    for cue in scope.label_starts(scope.noise.legitimate_cues, max(0, start - 80), start):
        gap = text[cue:start]
        words = gap.split()
        if "\n" in gap or not words:
            continue
        if _gap_ok(scope, words[1:]) and word_before(text, cue) not in scope.noise.compromise_words:
            return True
    return False


def _gap_ok(scope: Scope, words: list[str]) -> bool:
    """True when every word between cue and host is a site noun or a name (cue words themselves skipped)."""
    for raw in words:
        word = _GAP_JUNK.sub("", raw)
        if not word:
            continue
        if not _GAP_WORD.fullmatch(word):
            return False
        low = word.lower()
        if low not in scope.noise.site_nouns and not word[0].isupper() and low not in _CUE_TAIL:
            return False
    return True


_CUE_TAIL = frozenset(
    ("as", "of", "to", "be", "against", "by", "contacting", "check", "checks", "connectivity")
)


def word_before(text: str, start: int) -> str:
    """The lower-case word just before `start`, past spaces and "(:#." ("version" in "(version 1.5.0.1")."""
    low = max(0, start - 40)
    stop = start
    while stop > low and text[stop - 1] in " \t(:#.":
        stop -= 1
    begin = stop
    while begin > low and text[begin - 1].isalpha():
        begin -= 1
    return text[begin:stop].lower()


def _inside(spans: tuple[tuple[int, int], ...], pos: int) -> bool:
    index = bisect_right(spans, (pos, sys.maxsize)) - 1
    return index >= 0 and spans[index][0] <= pos < spans[index][1]


def covering(spans: list[Span], start: int) -> Span | None:
    """The span (sorted, non-overlapping) that contains offset `start`, if any."""
    index = bisect_right(spans, (start, sys.maxsize, True)) - 1
    if index >= 0 and spans[index][0] <= start < spans[index][1]:
        return spans[index]
    return None


def trim(text: str, start: int, end: int) -> int:
    """`end` moved left past trailing sentence punctuation and markdown emphasis."""
    while end > start and text[end - 1] in TRAILING:
        end -= 1
    return end


def host_kind(scope: Scope, host: str) -> tuple[IndicatorKind | None, str]:
    """(kind, registrable domain) of a URL host: IPV4/IPV6 with "", DOMAIN, or None when invalid."""
    address = _address(host)
    if address is None:
        registrable, _ = scope.parts(host)
        return (K.DOMAIN, registrable) if registrable else (None, "")
    return (K.IPV4 if address.version == 4 else K.IPV6), ""


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address `host` spells, else None (a name: no colon and no final digit, so no exception)."""
    if ":" not in host and not host[-1:].isdigit():
        return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def benign_host(scope: Scope, host: str, registrable: str) -> bool:
    """True for well-known benign domains (by registrable domain or listed parent), suffixes and IPs."""
    noise = scope.noise
    if not registrable:
        return host in noise.benign_ips
    suffix = registrable.partition(".")[2]
    return noise.listed(host, noise.benign_domains) or suffix in noise.benign_suffixes


def ip_verdict(scope: Scope, written: str) -> tuple[str, str]:
    """(canonical address, reason it is not an indicator or "") for a written IPv4/IPv6 address."""
    found = scope.verdicts.get(("ip", written))
    if found is None:
        found = scope.verdicts[("ip", written)] = _ip_verdict(scope, written)
    return found


def _ip_verdict(scope: Scope, written: str) -> tuple[str, str]:
    try:
        address = ipaddress.ip_address(written)
    except ValueError:
        return written, "not a valid IP address"
    value = str(address)
    if value in scope.noise.placeholder_ips:
        return value, "placeholder address"
    if value in scope.noise.benign_ips:
        return value, "well-known public service address"
    return value, special_use(address)


def special_use(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why an address is not globally routable ("" when it is)."""
    checks = (
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address"),
        (address.is_multicast, "multicast address"),
    )
    for flag, reason in checks:
        if flag:
            return reason
    if isinstance(address, ipaddress.IPv4Address):
        for network, reason in _SPECIAL_V4:
            if address in network:
                return reason
    if address.is_private:
        return "private address"
    if address.is_reserved or not address.is_global:
        return "reserved or non-routable address"
    return ""
