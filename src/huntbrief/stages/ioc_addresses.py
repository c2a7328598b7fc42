"""Address indicator scanners: IPv4 addresses, CIDR networks and IPv6 addresses.

Each scanner gets the spans already claimed (URLs, e-mails) and returns `Hit`s, rejected ones with
a reason; a scheme-less URL on an IPv4 host ("1.2.3.4/gate.php") becomes URL hits. The regexes are
linear: runs are possessive and starts pinned by look-behinds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from huntbrief.stages.ioc_glue import glued_ports
from huntbrief.stages.ioc_hosts import url_hits, url_tail
from huntbrief.stages.ioc_scope import Hit, K, Scope, Span, covering, ip_verdict, special_use, word_before
from huntbrief.stages.ioc_seek import grown_back, ipv6_spans

# An _IPV4 match starts where the digits before its first dot start, and that first dot has the
# other three octets after it: no other dot is an anchor.
_DIGIT_DOT = re.compile(r"\.(?=\d{1,3}\.\d{1,3}\.\d)")
_DIGIT_RUN = re.compile(r"\d*+")
_IPV4 = re.compile(r"\d(?<![\d.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\.?\d)(?:/(?P<prefix>\d{1,2})(?![\d/]))?")


def scan_ipv4(scope: Scope, spans: list[Span]) -> Iterator[Hit]:
    """Dotted-quad IPv4 addresses and CIDR networks (and scheme-less URLs on an IPv4 host)."""
    text = scope.rf.text
    for match in grown_back(_IPV4, _DIGIT_DOT, _DIGIT_RUN, text, scope.text_backwards()):
        start, end = match.start(), match.end()
        if covering(spans, start):
            continue
        before = text[start - 1] if start else " "
        if (before.isalpha() or before == "_") and not scope.rf.defanged(start, end):
            if word_before(text, start) in scope.noise.version_words:
                yield Hit(K.IPV4, match.group(), start, end, False, "version number")
            continue
        if end < len(text) and (text[end].isalnum() or text[end] == "_"):
            continue
        yield from _ipv4_hits(scope, match, start, end)


def _ipv4_hits(scope: Scope, match: re.Match[str], start: int, end: int) -> Iterator[Hit]:
    defanged = scope.rf.defanged(start, end)
    if match.group("prefix") is not None:
        yield _cidr_hit(scope, match.group(), start, end, defanged)
        return
    stop = url_tail(scope, end)
    if stop > end:
        yield from url_hits(scope, start, stop)
        return
    if word_before(scope.rf.text, start) in scope.noise.version_words:
        yield Hit(K.IPV4, match.group(), start, end, defanged, "version number")
        return
    value, reason = ip_verdict(scope, match.group())
    yield Hit(K.IPV4, value, start, end, defanged, reason)
    for glued_start, glued_end in glued_ports(scope.rf.text, end, scope.noise.common_ports):
        value, reason = ip_verdict(scope, scope.rf.text[glued_start:glued_end])
        yield Hit(K.IPV4, value, glued_start, glued_end, scope.rf.defanged(glued_start, glued_end), reason)


def _cidr_hit(scope: Scope, written: str, start: int, end: int, defanged: bool) -> Hit:
    try:
        network = ipaddress.ip_network(written, strict=False)
    except ValueError:
        return Hit(K.CIDR, written, start, end, defanged, "not a valid network")
    if network.prefixlen < 8:
        return Hit(K.CIDR, str(network), start, end, defanged, "network too broad to be an indicator")
    reason = special_use(network.network_address)
    return Hit(K.CIDR, str(network), start, end, defanged, reason)


def scan_ipv6(scope: Scope, spans: list[Span]) -> Iterator[Hit]:
    """IPv6 addresses (validated by `ipaddress`; non-global ones rejected)."""
    for start, end in ipv6_spans(scope.rf.text):
        written = scope.rf.text[start:end]
        if written.count(":") < 2 or written.strip(":") == "" or covering(spans, start):
            continue
        try:
            address = ipaddress.IPv6Address(written)
        except ValueError:
            continue
        defanged = scope.rf.defanged(start, end)
        yield Hit(K.IPV6, str(address), start, end, defanged, _v6_reason(scope, address))


def _v6_reason(scope: Scope, address: ipaddress.IPv6Address) -> str:
    if str(address) in scope.noise.benign_ips:
        return "well-known public service address"
    return special_use(address)
