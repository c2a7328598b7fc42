"""Phrases matched as whole words, case-insensitively: the heading and label lists of the noise
catalogue ("indicators of compromise", "c2", "command and control")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORDISH = re.compile(r"[\w-]")
_RIGHT_EDGE = r"(?![\w-])"  # what `phrases_of` puts after the alternation of the phrases


@dataclass(frozen=True, slots=True)
class Phrases:
    """Words and phrases matched case-insensitively as whole words ("c2", "command and control")."""

    pattern: re.Pattern[str]  # applied to lower-cased text; the left word boundary is checked in code

    def starts(self, lowered: str, start: int = 0, end: int | None = None) -> list[int]:
        """Offsets in lower-cased text (or its [start, end) window) where a phrase starts as a word."""
        return [
            match.start()
            for match in self.pattern.finditer(lowered, start, len(lowered) if end is None else end)
            if not match.start() or not _WORDISH.match(lowered, match.start() - 1)
        ]

    def found_in(self, text: str) -> bool:
        """True when one of the phrases occurs in `text` as a whole word."""
        return self.found_in_lower(text.lower())

    def found_in_lower(self, lowered: str) -> bool:
        """`found_in` for text already lower-cased."""
        for match in self.pattern.finditer(lowered):
            if not match.start() or not _WORDISH.match(lowered, match.start() - 1):
                return True
        return False

    def is_whole(self, text: str) -> bool:
        """True when `text` is exactly one of the phrases (trailing punctuation allowed)."""
        return self.is_whole_lower(text.lower())

    def is_whole_lower(self, lowered: str) -> bool:
        """`is_whole` for text already lower-cased."""
        return self.pattern.fullmatch(lowered.rstrip(" \t.:;!?*_#")) is not None

    def alternation(self) -> str | None:
        """The pattern's alternation of escaped phrases ("iocs|c2\\s+servers"), without its word edges.

        None when the pattern has another shape than the one `load_noise` builds.
        """
        source = self.pattern.pattern
        if (
            self.pattern.flags != re.UNICODE
            or not source.startswith("(?:")
            or not source.endswith(")" + _RIGHT_EDGE)
        ):
            return None
        return source[3 : -len(_RIGHT_EDGE) - 1]


def alternation_of(phrases: Iterable[str]) -> str:
    """A regex alternation of escaped phrases, longest first; a space matches any whitespace run."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(re.escape(phrase).replace(r"\ ", r"\s+") for phrase in ordered)


def phrases_of(phrases: Iterable[str]) -> Phrases:
    """`Phrases` for a list of words and phrases."""
    return Phrases(re.compile(rf"(?:{alternation_of(phrases)}){_RIGHT_EDGE}"))
