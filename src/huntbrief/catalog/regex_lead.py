"""Regex rewrites that let `re` skip alternation members cheaply, derived from parsed patterns.

Used by the chrome catalogue (`boilerplate_model`): each member is led by the class of characters
its matches can start with; a literal gate is tested through a few covering pieces.
"""

from __future__ import annotations

import re

from huntbrief.catalog.datafile import first_chars, parse_regex

ASCII = frozenset(map(chr, range(128)))
KEY_MIN = 4  # shortest shared piece worth testing instead of the gate literals holding it
# flags under which a led member means what the plain one does (VERBOSE would re-read the wrapper)
LEAD_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.UNICODE


def led_member(source: str, first: frozenset[str] | None, tail: str, folded: bool) -> str:
    r"""`(?:P)tail` (P = `source`) as an alternation member that `re` skips with one test when the
    first character cannot start a match of P; `first` = `datafile.first_chars` of P (None: unknown).

    `[C](?<=(?=(?:P)tail)[\s\S])` matches exactly when P does: the class C (every character a match
    can start with) consumes the first character, then the look-behind steps back over it and runs
    P itself from the start. re enters a member led by a class only when the class matches.
    `folded`: the alternation is compiled case-insensitively (the class is kept case-sensitive).
    """
    if first is None or first == ASCII:
        return f"(?:{source}){tail}"
    return rf"{not_in(ASCII - first, folded)}(?<=(?=(?:{source}){tail})[\s\S])"


def not_in(excluded: frozenset[str], folded: bool) -> str:
    """A class of every character but the ASCII ones in `excluded`, as short ranges (case-sensitive
    even in a `folded`, case-insensitive regex). Negated: a class up to U+10FFFF compiles slowly.
    """
    codes = sorted(map(ord, excluded))
    ranges: list[str] = []
    start = 0
    for index, code in enumerate(codes):
        if index + 1 == len(codes) or codes[index + 1] != code + 1:
            first = codes[start]
            ranges.append(f"\\x{first:02x}" + (f"-\\x{code:02x}" if code != first else ""))
            start = index + 1
    negated = f"[^{''.join(ranges)}]"
    return f"(?-i:{negated})" if folded else negated


def cannot_lead(regex: re.Pattern[str]) -> frozenset[str]:
    """The ASCII characters no match of `regex` can start with (empty when unknown)."""
    tree = parse_regex(regex.pattern)
    chars = first_chars(tree, regex.flags) if tree is not None else None
    return frozenset() if chars is None else ASCII - chars


def covering_keys(literals: frozenset[str]) -> tuple[str, ...]:
    """Few substrings such that each of `literals` contains one: when a text holds none of the keys,
    it holds none of the literals. Greedily, the shortest literal left gives the piece (at least
    `KEY_MIN` characters, or the whole literal) held by the most literals left, the longest on ties.
    """
    keys: list[str] = []
    left = sorted(literals, key=lambda literal: (len(literal), literal))
    while left:
        shortest = left[0]
        pieces = [
            shortest[i:j] for i in range(len(shortest)) for j in range(i + KEY_MIN, len(shortest) + 1)
        ] or [shortest]
        key = max(pieces, key=lambda piece: (sum(piece in literal for literal in left), len(piece), piece))
        keys.append(key)
        left = [literal for literal in left if key not in literal]
    return tuple(keys)
