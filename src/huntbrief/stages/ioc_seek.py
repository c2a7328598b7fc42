"""Fast candidate finders: seek a rare literal ("://", "@", ":x:", ".ext"), then grow the token around it.

A pattern that starts with a character class makes `re` try every position of the text; these
finders give the same spans as the plain patterns (documented on each) while `re` skips ahead to
the literal. Every growth step is bounded, so the scan stays linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

URL_CHARS = r"[^\s<>\"'`{}|\\^\[\]()“”‘’«»]"
_URL_SEP = re.compile(rf"://(?={URL_CHARS}|\[)")
_V6_HOST = re.compile(r"\[[0-9A-Fa-f:.]{2,45}+\]")
_URL_REST = re.compile(rf"{URL_CHARS}++")
_SCHEME = re.compile(r"(?:[hH][tT][tT][pP][sS]?|[fF][tT][pP]|[sS][fF][tT][pP])$")
_EMAIL_DOMAIN = re.compile(r"@[A-Za-z0-9-]{1,63}+(?:\.[A-Za-z0-9-]{1,63}+)++")
_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_V6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:")
_V6_CHARS = frozenset("0123456789abcdefABCDEF:")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$-.")


def seeded(
    pattern: re.Pattern[str], seed: re.Pattern[str], text: str, seek_in: str
) -> Iterator[re.Match[str]]:
    """Matches of `pattern` tried only where `seed` finds its literal in `seek_in` (same offsets as `text`).

    The pattern is tried at the seed, and one character earlier (a drive letter before ":\\", a
    backslash before "registry"); seeds inside the previous match are skipped.
    """
    last = 0
    for hint in seed.finditer(seek_in):
        at = hint.start()
        if at < last:
            continue
        match = (pattern.match(text, at - 1) if at else None) or pattern.match(text, at)
        if match is not None and match.end() > last:
            last = match.end()
            yield match


def url_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of `(https?|s?ftp)://([v6]|URLCHARS)URLCHARS*` (scheme in any case), leftmost first, disjoint."""
    last = 0
    for sep in _URL_SEP.finditer(text):
        if sep.start() < last:
            continue
        scheme = _SCHEME.search(text, max(0, sep.start() - 5), sep.start())
        if scheme is None:
            continue
        host = _V6_HOST.match(text, sep.end())  # a bracketed IPv6 literal
        if host is None and text[sep.end()] == "[":
            continue
        rest = _URL_REST.match(text, host.end() if host else sep.end())
        last = rest.end() if rest else (host.end() if host else sep.end())
        yield scheme.start(), last


def email_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of `(?<![\\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@host(.label)+`, grown leftwards from "@"."""
    for match in _EMAIL_DOMAIN.finditer(text):
        at = match.start()
        start = at
        while start > at - 65 and start > 0 and text[start - 1] in _LOCAL:
            start -= 1
        if at - start > 64 or start == at or not text[start].isalnum():
            continue
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue
        yield start, match.end()


def ipv6_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of `(?<![\\w:.])[0-9A-Fa-f:]{3,39}(?![\\w:.])` that hold two colons at most 4 digits apart."""
    last = 0
    for seed in _V6_SEED.finditer(text):
        if seed.start() < last:
            continue
        start, end = seed.start(), seed.end()
        while start > 0 and start > seed.start() - 40 and text[start - 1] in _V6_CHARS:
            start -= 1
        while end < len(text) and end < seed.end() + 40 and text[end] in _V6_CHARS:
            end += 1
        last = end
        if not 3 <= end - start <= 39:
            continue
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if before.isalnum() or before in "_." or after.isalnum() or after in "_.":
            continue
        yield start, end


def file_name_spans(text: str, extension: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Spans of `[\\w$][\\w$.-]*\\.EXT` ending at an extension match, grown leftwards (at most 255 chars).

    `extension` matches ".ext" with its right boundary; a name preceded by `\\ / % @` is part of a
    path, URL or address and is skipped.
    """
    for match in extension.finditer(text):
        dot = match.start()
        start = dot
        while start > dot - 255 and start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        while start < dot and text[start] in ".-":
            start += 1
        if start == dot or (start and text[start - 1] in "\\/%@"):
            continue
        yield start, match.end()
