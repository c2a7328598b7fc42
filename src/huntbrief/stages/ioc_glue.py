"""Undo text flattening: indicators glued to neighbouring words, dates, headers or ports.

Scrapers that drop table cell and line breaks glue an indicator to what surrounds it
("Cobalt Strikedimentos[.]com", "January 2023amarte[.]store", "x[.]site:44394.177.248[.]64").
Each rule here names one such class and cuts only where the evidence is unambiguous.
"""

from __future__ import annotations

import re

from huntbrief.stages.ioc_scope import Scope

_CAMEL_TAIL = re.compile(r"[a-z]{2,}+(?=[A-Z][a-z])")
_YEAR_HEAD = re.compile(r"(?:19|20)\d\d(?=[a-z])")
_WORD_BEFORE = re.compile(r"([A-Z]?[a-z]{2,}+)[ \t\u00a0]{1,3}$")
_SPACE_BEFORE = frozenset(" \t\u00a0\n")  # what _WORD_BEFORE's match ends with ("$" also matches before "\n")
_GLUED_PORT = re.compile(r":(\d{3,10}+)\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_URL_SENTENCE_TAIL = re.compile(r"\.[A-Z][a-z]++[A-Z][A-Za-z]*+$")


def trailing_glue(scope: Scope, written: str) -> int:
    """Length of `written` to keep when a capitalised word is glued to its TLD ("evil.xyzAugust")."""
    head, dot, last = written.rpartition(".")
    match = _CAMEL_TAIL.match(last)
    if not dot or match is None:
        return len(written)
    keep = len(head) + 1 + match.end()
    return keep if scope.parts(written[:keep].lower())[0] else len(written)


def glued_to_label(last: str) -> bool:
    """True when `trailing_glue` may cut a capitalised word off a host whose last label is `last`."""
    return last[:1].islower() and _CAMEL_TAIL.match(last) is not None  # a cheap test first


def leading_glue(scope: Scope, written: str, start: int) -> int:
    """How many characters of a host glued to the text before it belong to that text (0 when none).

    Three classes: a year after a month name ("November 2020evil.site"), a table header word after
    another ("Registration periodevil.site"), and a capitalised word before a host that also
    stands alone in the article ("Cobalt Strikeevil.com" when "evil.com" appears by itself).
    """
    text, noise = scope.rf.text, scope.noise
    spaced = start > 0 and text[start - 1] in _SPACE_BEFORE  # else _WORD_BEFORE cannot match: skip the search
    before = _WORD_BEFORE.search(text, max(0, start - 20), start) if spaced else None
    previous = before.group(1).lower() if before else ""
    year = _YEAR_HEAD.match(written)
    if year and previous in noise.month_names:
        return year.end()
    low = written.lower()
    if previous in noise.table_header_words:
        for word in noise.table_header_words:
            if low.startswith(word) and _cut_ok(scope, low, len(word)):
                return len(word)
    if written[:1].isupper() and written.find(".") <= 63:
        for cut in range(2, max(2, written.find(".") - 2)):
            if not written[cut - 1].islower():
                break
            if low[cut:] in scope.alone() and _cut_ok(scope, low, cut):
                return cut
    return 0


def _cut_ok(scope: Scope, low: str, cut: int) -> bool:
    rest = low[cut:]
    return len(rest.partition(".")[0]) >= 3 and rest[0].isalnum() and bool(scope.parts(rest)[0])


def url_sentence_tail(path_end: str) -> int:
    """Characters to drop from a URL whose last segment glues the next sentence ("/au.PayloadsTalos")."""
    match = _URL_SENTENCE_TAIL.search(path_end)
    return len(path_end) - match.start() if match else 0


def glued_ports(text: str, end: int, ports: tuple[int, ...]) -> list[tuple[int, int]]:
    """IPv4 spans glued after "IP:port" at `end` ("…:44394.177.248.64" is port 443, then 94.177.248.64).

    The digit run is split into port + first octet; a reading with a common port wins, and a run
    with no common-port reading and several possible ones is left alone (ambiguous).
    """
    spans: list[tuple[int, int]] = []
    while True:
        match = _GLUED_PORT.match(text, end)
        if match is None:
            return spans
        cut = _port_cut(match.group(1), ports)
        if cut is None or any(int(match.group(i)) > 255 for i in (2, 3, 4)):
            return spans
        start = match.start(1) + cut
        spans.append((start, match.end()))
        end = match.end()


def _port_cut(run: str, ports: tuple[int, ...]) -> int | None:
    readings = [
        cut
        for cut in range(1, min(6, len(run)))
        if _valid_number(run[:cut], 65535) and _valid_number(run[cut:], 255) and int(run[cut:]) > 0
    ]
    common = [cut for cut in readings if int(run[:cut]) in ports]
    if common:
        return min(common, key=lambda cut: ports.index(int(run[:cut])))
    return readings[0] if len(readings) == 1 else None


def _valid_number(digits: str, top: int) -> bool:
    return bool(digits) and (digits == "0" or digits[0] != "0") and int(digits) <= top
