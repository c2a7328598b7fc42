"""Refang and defang: undo the ways authors neuter indicators, and redo it for display.

`refang` rewrites text once, in linear time, and remembers where each rewrite happened so a
finding can say whether it was defanged and point back into the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from urllib.parse import urlsplit

from huntbrief.stages.ioc_seek import occurrences, re2_candidates, retried, utf8_starts

# Branches of one alternation, each bounded (no backtracking). Each is tried only where it can
# start: after one of its literal prefixes (found with str.find), or where an RE2 pattern over the
# UTF-8 text finds the same match (a branch without look-arounds, rare in text), or else (None) by
# its own `finditer` (frequent matches: RE2's per-match cost in Python is higher than re's).
_BRANCHES: tuple[tuple[str, tuple[str, ...] | bytes | None], ...] = (
    (
        r"(?P<scheme>(?:hxxp|hXXp|h\*\*p|hxtp|fxp)(?P<tls>[sS]?)(?=[ ]?(?:\[:\]|\[://\]|:)))",
        ("hxxp", "hXXp", "h**p", "hxtp", "fxp"),
    ),
    (r"(?P<sep>\[:(?P<slashes>//)?\])", ("[:",)),
    (r"(?P<dot>[\[({][ ]?(?:\.|dot|DOT|Dot)[ ]?[\])}])", None),
    (r"(?P<at>[\[({][ ]?(?:@|at|AT|At)[ ]?[\])}])", rb"([\[({][ ]?(?:@|at|AT|At)[ ]?[\])}])"),
    (r"(?P<bsdot>\\\.(?<=\w\\\.)(?=\w))", ("\\.",)),
    (r"(?P<half>(?:\.\]|\[\.)(?<=[A-Za-z0-9]..)(?=[A-Za-z0-9]))", (".]", "[.")),
    (r"(?P<escape>\\_)", ("\\_",)),
)
_GROUPS = ("scheme", "tls", "sep", "slashes", "dot", "at", "bsdot", "half", "escape")
# each branch alone, followed by never-matching copies of the other groups so every name exists
_COMPILED = tuple(
    (
        re.compile(
            branch + "".join(f"(?:(?P<{name}>(?!)))?" for name in _GROUPS if f"<{name}>" not in branch)
        ),
        starts if not isinstance(starts, bytes) else re2_candidates(starts),
    )
    for branch, starts in _BRANCHES
)
_SCHEMES = {"hxxp": "http", "h**p": "http", "hxtp": "http", "fxp": "ftp"}
_DISPLAY_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}


@dataclass(frozen=True, slots=True)
class Refanged:
    """Refanged text plus the bookkeeping to map spans back to the original and spot defangs."""

    text: str
    original: str
    anchors: tuple[int, ...]  # refanged offsets where the original/refanged offset difference changes
    deltas: tuple[int, ...]  # original offset minus refanged offset, from the matching anchor on
    defangs: tuple[int, ...]  # refanged offsets where a defang was undone (sorted)

    def original_offset(self, offset: int) -> int:
        """The offset in the original text that corresponds to `offset` in the refanged text."""
        index = bisect_right(self.anchors, offset) - 1
        return offset + (self.deltas[index] if index >= 0 else 0)

    def defanged(self, start: int, end: int) -> bool:
        """True when a defang was undone inside refanged span [start, end)."""
        index = bisect_left(self.defangs, start)
        return index < len(self.defangs) and self.defangs[index] < end


def refang(text: str) -> Refanged:
    """Undo defangs (hxxp, [.], (dot), [:], [@], \\., half brackets) and markdown `\\_`; never fails."""
    pieces: list[str] = []
    anchors: list[int] = []
    deltas: list[int] = []
    defangs: list[int] = []
    last = 0
    out = 0
    for match in _matches(text):
        if match.group("scheme") and match.start() and text[match.start() - 1].isalnum():
            continue  # "xhxxp:" is a word, not a defanged scheme
        replacement, is_defang = _replacement(match)
        begin, finish = _spaced(text, match)
        if begin < last:
            continue
        pieces.append(text[last:begin])
        out += begin - last
        if is_defang:
            defangs.append(out)
        pieces.append(replacement)
        out += len(replacement)
        last = finish
        anchors.append(out)
        deltas.append(last - out)
    pieces.append(text[last:])
    return Refanged("".join(pieces), text, tuple(anchors), tuple(deltas), tuple(defangs))


def _matches(text: str) -> list[re.Match[str]]:
    """Matches of every branch, by position (earlier branch first on ties): each branch's `finditer`,
    tried only at the offsets where it can start."""
    found: list[tuple[int, int, re.Match[str]]] = []
    data = b""
    for index, (pattern, starts) in enumerate(_COMPILED):
        if starts is None:
            found += ((match.start(), index, match) for match in pattern.finditer(text))
            continue
        if isinstance(starts, tuple):
            offsets = occurrences(text, starts)
        else:
            data = data or text.encode("utf-8", "surrogatepass")
            offsets = utf8_starts(starts, data, text)
        found += ((match.start(), index, match) for match in retried(pattern, offsets, text))
    found.sort(key=lambda item: item[:2])
    return [match for _, _, match in found]


def _spaced(text: str, match: re.Match[str]) -> tuple[int, int]:
    """The span to replace: a spaced-out "evil [ . ] com" also swallows the spaces around the brackets."""
    start, end = match.start(), match.end()
    spaced = (match.group("dot") or match.group("at")) and " " in match.group()
    if not spaced or start < 2 or end + 1 >= len(text) or not text[start - 1] == text[end] == " ":
        return start, end
    if text[start - 2].isalnum() and text[end + 1].isalnum():
        return start - 1, end + 1
    return start, end


def _replacement(match: re.Match[str]) -> tuple[str, bool]:
    if match.group("scheme"):
        word = match.group("scheme")[: len(match.group("scheme")) - len(match.group("tls"))].lower()
        return _SCHEMES.get(word, "http") + match.group("tls").lower(), True
    if match.group("sep") is not None:
        return (":" + (match.group("slashes") or "")), True
    if any(match.group(name) is not None for name in ("dot", "bsdot", "half")):
        return ".", True
    if match.group("at") is not None:
        return "@", True
    return "_", False


def defang_host(host: str) -> str:
    """Display form of a host or IPv4 address: the last dot becomes `[.]`."""
    head, dot, tail = host.rpartition(".")
    return f"{head}[.]{tail}" if dot else host


def defang_url(url: str) -> str:
    """Display form of a URL: `hxxp`/`hxxps`/`fxp` scheme and `[.]` on the host's last dot."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host_end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            host_end = min(host_end, found)
    authority = rest[:host_end]
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport.partition(":") if not hostport.startswith("[") else (hostport, "", "")
    shown = f"{userinfo}{at}{defang_host(host)}{colon}{port}{rest[host_end:]}"
    return f"{_DISPLAY_SCHEMES.get(scheme.lower(), scheme)}://{shown}" if sep else shown


def defang_email(email: str) -> str:
    """Display form of an e-mail address: `[@]` and `[.]` on the domain's last dot."""
    local, _, domain = email.rpartition("@")
    return f"{local}[@]{defang_host(domain)}"


def url_host(url: str) -> str:
    """The lower-case host of a URL (scheme optional); "" when it has none."""
    target = url if "://" in url else f"http://{url}"
    try:
        return (urlsplit(target).hostname or "").lower()
    except ValueError:
        return ""
