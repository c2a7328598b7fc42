"""Refang and defang: undo the ways authors neuter indicators, and redo it for display.

`refang` rewrites text once, in linear time, and remembers where each rewrite happened so a
finding can say whether it was defanged and point back into the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from operator import itemgetter
from urllib.parse import urlsplit

from huntbrief.stages.ioc_seek import lead_offsets, merged_offsets, retried

# Where a branch below can start: patterns led by one literal character (`re` skips to it about as
# fast as `str.find`), each match's start plus a shift (-1: the branch starts one character earlier).
_LEADS: dict[str, tuple[str, int]] = {
    "hx": (r"x(?<=[hf]x)", -1),  # hxxp, hxtp, fxp
    "hX": (r"X(?<=hX)", -1),
    "h*": (r"\*(?<=h\*)", -1),
    "[": (r"\[(?=:|[ ]?(?:[.@]|[dD]ot|DOT|[aA]t|AT))", 0),
    "(": (r"\((?=[ ]?(?:[.@]|[dD]ot|DOT|[aA]t|AT))", 0),
    "{": (r"\{(?=[ ]?(?:[.@]|[dD]ot|DOT|[aA]t|AT))", 0),
    "\\": (r"\\(?=[._])", 0),
    ".]": (r"\](?<=\.\])", -1),
}
# Branches of one alternation, each bounded (no backtracking), with the leads of their starts.
_BRANCHES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        r"(?P<scheme>(?:hxxp|hXXp|h\*\*p|hxtp|fxp)(?P<tls>[sS]?)(?=[ ]?(?:\[:\]|\[://\]|:)))",
        ("hx", "hX", "h*"),
    ),
    (r"(?P<sep>\[:(?P<slashes>//)?\])", ("[",)),
    (r"(?P<dot>[\[({][ ]?(?:\.|dot|DOT|Dot)[ ]?[\])}])", ("[", "(", "{")),
    (r"(?P<at>[\[({][ ]?(?:@|at|AT|At)[ ]?[\])}])", ("[", "(", "{")),
    (r"(?P<bsdot>\\\.(?<=\w\\\.)(?=\w))", ("\\",)),
    (r"(?P<half>(?:\.\]|\[\.)(?<=[A-Za-z0-9]..)(?=[A-Za-z0-9]))", (".]", "[")),
    (r"(?P<escape>\\_)", ("\\",)),
)
_SCHEME, _SEP, _DOT, _AT, _BSDOT, _HALF, _ESCAPE = range(len(_BRANCHES))
_COMPILED_LEADS = {name: (re.compile(lead), shift) for name, (lead, shift) in _LEADS.items()}
_COMPILED = tuple((re.compile(branch), leads) for branch, leads in _BRANCHES)
_REPLACEMENTS = {_DOT: ".", _AT: "@", _BSDOT: ".", _HALF: ".", _ESCAPE: "_"}
_SCHEMES = {"hxxp": "http", "h**p": "http", "hxtp": "http", "fxp": "ftp"}
_DISPLAY_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}
# A URL whose host is plain ASCII with no user, port or brackets: what `urlsplit(url).hostname` would
# give is the host as written (lower-cased), without the cost of `urlsplit`.
_PLAIN_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*+://([A-Za-z0-9.-]*+)(?:[/?#]|\Z)")


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
    for branch, match in _matches(text):
        if branch == _SCHEME and match.start() and text[match.start() - 1].isalnum():
            continue  # "xhxxp:" is a word, not a defanged scheme
        replacement = _replacement(branch, match)
        begin, finish = _spaced(text, branch, match)
        if begin < last:
            continue
        pieces.append(text[last:begin])
        out += begin - last
        if branch != _ESCAPE:
            defangs.append(out)
        pieces.append(replacement)
        out += len(replacement)
        last = finish
        anchors.append(out)
        deltas.append(last - out)
    pieces.append(text[last:])
    return Refanged("".join(pieces), text, tuple(anchors), tuple(deltas), tuple(defangs))


def _matches(text: str) -> list[tuple[int, re.Match[str]]]:
    """(branch, match) of every branch, by position (earlier branch first on ties): each branch's
    `finditer`, tried only at the offsets its leads give."""
    starts = {name: lead_offsets(text, lead, shift) for name, (lead, shift) in _COMPILED_LEADS.items()}
    found: list[tuple[int, int, re.Match[str]]] = []
    for branch, (pattern, leads) in enumerate(_COMPILED):
        offsets = merged_offsets([starts[name] for name in leads])
        found += ((match.start(), branch, match) for match in retried(pattern, offsets, text))
    found.sort(key=itemgetter(0, 1))
    return [(branch, match) for _, branch, match in found]


def _spaced(text: str, branch: int, match: re.Match[str]) -> tuple[int, int]:
    """The span to replace: a spaced-out "evil [ . ] com" also swallows the spaces around the brackets."""
    start, end = match.start(), match.end()
    spaced = branch in (_DOT, _AT) and " " in match.group()
    if not spaced or start < 2 or end + 1 >= len(text) or not text[start - 1] == text[end] == " ":
        return start, end
    if text[start - 2].isalnum() and text[end + 1].isalnum():
        return start - 1, end + 1
    return start, end


def _replacement(branch: int, match: re.Match[str]) -> str:
    """What a match of `branch` is replaced with."""
    if branch == _SCHEME:
        word = match.group("scheme")[: len(match.group("scheme")) - len(match.group("tls"))].lower()
        return _SCHEMES.get(word, "http") + match.group("tls").lower()
    if branch == _SEP:
        return ":" + (match.group("slashes") or "")
    return _REPLACEMENTS[branch]


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
    plain = _PLAIN_HOST.match(target)
    if plain is not None:
        return plain.group(1).lower()
    try:
        return (urlsplit(target).hostname or "").lower()
    except ValueError:
        return ""
