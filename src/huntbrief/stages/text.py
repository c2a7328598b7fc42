"""Sentence splitting for analysis text: pure, linear-time, aware of IOCs and abbreviations.

Used by the summary, IOC and ATT&CK stages to cut text into evidence sentences. A sentence never
ends inside `evil[.]com`, `1.2.3.4`, `v2.1`, `e.g.` or `U.S.`; a blank line always ends one.
"""

from __future__ import annotations

import re

_LETTER = r"[^\W\d_]"
# Words after which a single "." does not end a sentence, grouped by length because every
# alternative inside one lookbehind must have the same width.
_ABBREVIATIONS = (
    "mr|dr|st|vs|ms|jr|sr|no|pp|ed|al|cf|lt|mt|ca",
    "mrs|gen|col|rep|sen|gov|rev|fig|nos|vol|eds|est|viz"
    "|jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec|e\\.g|i\\.e",
    "prof|dept|univ|assn|bros|sept|vols|figs|capt|pres|resp",
    "approx",
)
_NOT_AFTER = "".join(f"(?<!(?<![\\w.])(?i:{words}))" for words in _ABBREVIATIONS)
# A boundary is a run of terminal punctuation right after a visible character (matched only from the
# start of the run, possessively, so no input makes the engine backtrack), closing quotes/brackets,
# then whitespace. It is not after an initial ("J."), a dotted acronym ("U.S.", "U.S.A."), an
# abbreviation, or a list number opening the line ("1."), and never before an ASCII lower-case
# letter. The leading lookahead rejects most positions before any lookbehind runs. Group 1 is the
# next visible character ("" at the end).
_BOUNDARY = re.compile(
    r"(?<=[^\s.!?…])(?=[.!?…]++[\"'”’»)\]]*+\s++(?![a-z]))"
    rf"(?:(?<!(?<!\w)[A-Z])(?<!(?<![\w.]){_LETTER}\.{_LETTER})"
    rf"(?<!(?<![\w.]){_LETTER}\.{_LETTER}\.{_LETTER}){_NOT_AFTER}"
    r"(?<!^\d)(?<!^\d\d)(?<!^\d\d\d)\.(?![.!?…])|(?:\.(?=[.!?…])|[!?…])[.!?…]*+)"
    r"[\"'”’»)\]]*+(?=\s)(?=\s*+(?![a-z])(\S?))"
)


def split_sentences(text: str) -> tuple[str, ...]:
    """Split plain text into trimmed sentences, in order; a blank line or a new list/table line also splits.

    Never splits inside defanged domains, IPs, versions or common abbreviations; linear in len(text).
    """
    sentences: list[str] = []
    for segment in _segments(text):
        start = 0
        for found in _BOUNDARY.finditer(segment):
            if found.group(1).islower():
                continue  # a non-ASCII lower-case letter continues the sentence
            piece = segment[start : found.end()].strip()
            if piece:
                sentences.append(piece)
            start = found.end()
        rest = segment[start:].strip()
        if rest:
            sentences.append(rest)
    return tuple(sentences)


def _segments(text: str) -> list[str]:
    """Logical lines: each non-blank line, with hard-wrapped prose lines joined back together."""
    segments: list[str] = []
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if current:
                segments.append(" ".join(current))
                current = []
            continue
        if current and _continues(current[-1], line):
            current.append(line)
            continue
        if current:
            segments.append(" ".join(current))
        current = [line]
    if current:
        segments.append(" ".join(current))
    return segments


def _continues(previous: str, line: str) -> bool:
    """True when `line` reads as the wrapped continuation of the prose line before it."""
    if not line[0].islower() or previous[-1] in ".!?…:;":
        return False
    if " " not in previous or " " not in line:
        return False  # one-token lines are list entries (IOCs, names), not wrapped prose
    return not any(mark in previous or mark in line for mark in (" | ", "\t"))
