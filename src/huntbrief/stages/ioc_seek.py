"""Fast candidate finders: seek a rare literal ("://", "@", ":x:", ".ext"), then grow the token around it.

A pattern that starts with a character class makes `re` try every position of the text; these
finders give the same spans as the plain patterns (documented on each) while `re` skips ahead to
the literal. Every growth step is bounded, so the scan stays linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import re2

URL_CHARS = r"[^\s<>\"'`{}|\\^\[\]()“”‘’«»]"
_URL_SEP = re.compile(rf":(?=//(?:{URL_CHARS}|\[))")  # one literal lead: `re` skips to it faster
_V6_HOST = re.compile(r"\[[0-9A-Fa-f:.]{2,45}+\]")
_URL_REST = re.compile(rf"{URL_CHARS}++")
_SCHEME = re.compile(r"(?:[hH][tT][tT][pP][sS]?|[fF][tT][pP]|[sS][fF][tT][pP])$")
_EMAIL_DOMAIN = re.compile(r"@[A-Za-z0-9-]{1,63}+(?:\.[A-Za-z0-9-]{1,63}+)++")
_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_V6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:")
_V6_CHARS = frozenset("0123456789abcdefABCDEF:")
_NAME_RUN = re.compile(r"[A-Za-z0-9_$.-]{0,255}")  # a file name's characters, read backwards from its dot
# Python's whitespace (`str.isspace`, what `\s` matches in `re`) but the line feed, as an RE2 class
_LINE_SPACE = (
    r"[\x{9}\x{b}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}"
    r"\x{205f}\x{3000}]"
)
# an `re` alternation of escaped ASCII phrases: letters, digits, escaped or plain punctuation, `\s+`, `|`
_ESCAPED_PHRASES = re.compile(r"(?:[A-Za-z0-9!\"%',/:;<=>@_`|]|\\s\+|\\[!-/:-@\[-`{-~])*+")
_PHRASE_TOKEN = re.compile(r"\\s\+|\\.")


def seeded(pattern: re.Pattern[str], seeds: Iterable[int], text: str) -> Iterator[re.Match[str]]:
    """Matches of `pattern` tried only at the `seeds` offsets of `text` (in order).

    The pattern is tried at the seed, and one character earlier (a drive letter before ":\\", a
    backslash before "registry"); seeds inside the previous match are skipped.
    """
    last = 0
    for at in seeds:
        if at < last:
            continue
        match = (pattern.match(text, at - 1) if at else None) or pattern.match(text, at)
        if match is not None and match.end() > last:
            last = match.end()
            yield match


def grown_back(
    pattern: re.Pattern[str], anchor: re.Pattern[str], run: re.Pattern[str], text: str, backwards: str
) -> list[re.Match[str]]:
    """What `pattern.finditer(text)` gives, for a pattern whose every match starts a `run` that ends
    at an `anchor` match (a domain: the label before its first dot; an IPv4 address: the digits).

    The anchor is a literal `re` skips to fast; the run is measured on `backwards` (`text` reversed)
    and the pattern tried once where it starts. The caller vouches for that shape: the pattern's
    left look-behind must refuse a start inside the run.
    """
    found: list[re.Match[str]] = []
    size = len(text)
    last = 0
    for hint in anchor.finditer(text):
        at = hint.start()
        if at < last:
            continue
        grown = run.match(backwards, size - at)
        start = at - (grown.end() - grown.start()) if grown else at
        if start == at or start < last:
            continue
        match = pattern.match(text, start)
        if match is not None:
            found.append(match)
            last = match.end()
    return found


def re2_candidates(pattern: bytes) -> Any:
    """An RE2 pattern over UTF-8 bytes whose group 1 marks where a plain-`re` pattern may match."""
    return re2.compile(pattern)


def utf8_starts(candidates: Any, data: bytes, text: str, group: int = 1) -> Iterator[int]:
    """Offsets in `text` (of which `data` is the UTF-8 form) where `group` of `candidates` starts.

    RE2 runs in linear time without trying every offset; the byte offsets it finds are turned into
    character offsets by decoding only the bytes between two finds.
    """
    if data.isascii():
        for found in candidates.finditer(data):
            yield found.start(group)
        return
    last_byte = last_char = 0
    for found in candidates.finditer(data):
        at = found.start(group)
        last_char += len(data[last_byte:at].decode("utf-8", "surrogatepass"))
        last_byte = at
        yield last_char


def phrase_lines(alternations: tuple[str, ...]) -> Any | None:
    """RE2 over UTF-8 text whose matches start every line where a phrase of `alternations` may occur.

    Each alternation is what `Phrases.alternation` gives. A line counts when, before any "|" on it,
    a phrase starts at the line start or after a character other than an ASCII letter, digit or "-",
    in any case; so every line where `Phrases.found_in` holds for part of the line is found, unless
    the text holds "İ" (its lower case is two characters). None when an alternation is not made of
    escaped ASCII phrases only (RE2 might read it otherwise).
    """
    if not alternations or not all(_ESCAPED_PHRASES.fullmatch(source) for source in alternations):
        return None
    phrases = "|".join(f"(?:{_PHRASE_TOKEN.sub(_re2_token, source)})" for source in alternations)
    # no capture group: RE2 then finds match bounds with its DFA alone, never its slower NFA
    return re2_candidates(f"(?m)^[^\\n|]*?(?:^|[^A-Za-z0-9\\n-])(?i:{phrases})".encode())


def _re2_token(token: re.Match[str]) -> str:
    """An escape of an `re` phrase alternation in RE2: `\\s+` (never across lines here), else as it is."""
    return _LINE_SPACE + "+" if token.group() == r"\s+" else token.group()


def retried(pattern: re.Pattern[str], starts: Iterable[int], text: str) -> Iterator[re.Match[str]]:
    """`pattern.match` at each candidate start (in order) outside the previous match: `finditer`'s result
    when every offset where `pattern` can match is among the starts."""
    last = 0
    for at in starts:
        if at < last:
            continue
        match = pattern.match(text, at)
        if match is not None:
            last = match.end()
            yield match


def lead_offsets(text: str, lead: re.Pattern[str], shift: int = 0) -> list[int]:
    """`match.start() + shift` of every `lead` match: the candidate starts of a rarer, longer pattern.

    A lead pattern starts with one literal character followed by look-arounds only, so `re` skips
    to that character about as fast as `str.find` and checks the context in C (no Python per hit).
    """
    return [match.start() + shift for match in lead.finditer(text)]


def merged_leads(text: str, leads: tuple[tuple[re.Pattern[str], int], ...]) -> list[int]:
    """The `lead_offsets` of several (lead, shift) pairs, merged in order (duplicates kept)."""
    return merged_offsets([lead_offsets(text, lead, shift) for lead, shift in leads])


def merged_offsets(offsets: list[list[int]]) -> list[int]:
    """Sorted lists of offsets merged into one sorted list (duplicates kept)."""
    return offsets[0] if len(offsets) == 1 else sorted(chain.from_iterable(offsets))


def url_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of `(https?|s?ftp)://([v6]|URLCHARS)URLCHARS*` (scheme in any case), leftmost first, disjoint."""
    last = 0
    for sep in _URL_SEP.finditer(text):
        if sep.start() < last:
            continue
        scheme = _SCHEME.search(text, max(0, sep.start() - 5), sep.start())
        if scheme is None:
            continue
        body = sep.start() + 3
        host = _V6_HOST.match(text, body)  # a bracketed IPv6 literal
        if host is None and text[body] == "[":
            continue
        rest = _URL_REST.match(text, host.end() if host else body)
        last = rest.end() if rest else (host.end() if host else body)
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


def file_name_spans(text: str, extension: re.Pattern[str], backwards: str = "") -> Iterator[tuple[int, int]]:
    """Spans of `[\\w$][\\w$.-]*\\.EXT` ending at an extension match, grown leftwards (at most 255 chars).

    `extension` matches ".ext" with its right boundary; a name preceded by `\\ / % @` is part of a
    path, URL or address and is skipped. The name is measured on `backwards` (`text` reversed, or
    computed when not given).
    """
    backwards = backwards or text[::-1]
    size = len(text)
    for match in extension.finditer(text):
        dot = match.start()
        grown = _NAME_RUN.match(backwards, size - dot)
        start = dot - (grown.end() - grown.start()) if grown else dot
        while start < dot and text[start] in ".-":
            start += 1
        if start == dot or (start and text[start - 1] in "\\/%@"):
            continue
        yield start, match.end()


def trie_alternation(words: Iterable[str]) -> str:
    """A regex alternation of exactly `words`, factored one character at a time ("do(?:c(?:m|x)?|t)").

    `re` then tests each character once instead of trying every word in turn. It matches the same
    strings as a flat alternation, but may try them in another order: use it where at most one word
    can match at an offset (a look-ahead refusing a word character after the words ensures that).
    """
    tails: dict[str, list[str]] = {}
    for word in sorted(set(words)):
        if word:
            tails.setdefault(word[0], []).append(word[1:])
    branches = []
    for head, rest in tails.items():
        inner = trie_alternation(rest)
        if "" in rest and inner:
            inner = f"(?:{inner})?"
        elif "|" in inner:
            inner = f"(?:{inner})"
        branches.append(re.escape(head) + inner)
    return "|".join(branches)
