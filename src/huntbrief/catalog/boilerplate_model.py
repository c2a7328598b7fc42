"""Page-chrome patterns as typed, compiled data: actions, patterns, and the line/sentence questions.

Built by `huntbrief.catalog.boilerplate` (which reads and validates the YAML); this module only
answers "is this line chrome?" fast: one alternation per action, slow `.{0,N}`-led patterns gated by
the literals every match of them contains, and a fast path for the common line no pattern touches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from huntbrief.catalog.datafile import required_literals, scans_ahead

BULLET = re.compile(r"(?:[-*•·▪►]|\d{1,3}[.)])\s+")
_MAX_PREFIX_ROUNDS = 12


def _alternation(patterns: tuple[BoilerplatePattern, ...]) -> re.Pattern[str] | None:
    """One regex matching where any of `patterns` matches (same flags), or None."""
    if not patterns or len({p.regex.flags for p in patterns}) != 1:
        return None
    try:
        return re.compile("|".join(f"(?:{p.regex.pattern})" for p in patterns), patterns[0].regex.flags)
    except re.error:
        return None


class BoilerplateAction(StrEnum):
    """What a pattern does when it matches."""

    DROP_LINE = "drop_line"  # the whole line matches: drop it
    STRIP_PREFIX = "strip_prefix"  # the line starts with chrome glued to real text: cut the match off
    DROP_SECTION = "drop_section"  # a chrome heading: drop it and the short block that follows
    SKIP_SENTENCE = "skip_sentence"  # keep in the text, but never use the sentence in a summary


@dataclass(frozen=True, slots=True)
class BoilerplatePattern:
    """One named, compiled chrome pattern."""

    name: str
    action: BoilerplateAction
    regex: re.Pattern[str]
    description: str = ""


@dataclass(frozen=True, slots=True)
class BoilerplatePatterns:
    """Read-only chrome patterns; build it with `load_boilerplate`."""

    patterns: tuple[BoilerplatePattern, ...]
    source: str = ""
    _by_action: dict[BoilerplateAction, tuple[BoilerplatePattern, ...]] = field(
        init=False, repr=False, compare=False
    )
    # Per action, one alternation of its patterns: most lines match none, and one regex call tells
    # that (None when the patterns cannot be combined, e.g. differing flags). A pattern that starts
    # with `.{0,N}` (re tries it at every offset: slow) is left out of the alternation and gated
    # instead by the literals every match of it contains ("cookie", "all rights reserved").
    _any: dict[BoilerplateAction, re.Pattern[str] | None] = field(init=False, repr=False, compare=False)
    _gates: dict[BoilerplateAction, frozenset[str]] = field(init=False, repr=False, compare=False)
    # (prefix, section and line alternations, line gates) for `verdict`'s fast path: the common
    # case of a line no pattern can touch, decided without method calls (None: always the slow path)
    _fast: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], frozenset[str]] | None = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        grouped = {a: tuple(p for p in self.patterns if p.action is a) for a in BoilerplateAction}
        gated = {p.name: _gate(p) for p in self.patterns}
        object.__setattr__(self, "_by_action", grouped)
        object.__setattr__(
            self,
            "_any",
            {a: _alternation(tuple(p for p in ps if not gated[p.name])) for a, ps in grouped.items()},
        )
        object.__setattr__(
            self,
            "_gates",
            {a: frozenset(lit for p in ps for lit in gated[p.name]) for a, ps in grouped.items()},
        )
        prefix, section, drop = (
            self._any[a]
            for a in (
                BoilerplateAction.STRIP_PREFIX,
                BoilerplateAction.DROP_SECTION,
                BoilerplateAction.DROP_LINE,
            )
        )
        ungated = (
            not self._gates[BoilerplateAction.STRIP_PREFIX]
            and not self._gates[BoilerplateAction.DROP_SECTION]
        )
        fast = (prefix, section, drop, self._gates[BoilerplateAction.DROP_LINE])
        object.__setattr__(self, "_fast", fast if ungated and prefix and section and drop else None)

    def _none_can_match(self, action: BoilerplateAction, text: str, *, whole: bool) -> bool:
        """True only when no pattern of `action` can match `text` (a fast answer for most lines)."""
        plain = self._by_action[action]
        combined = self._any[action]
        if combined is not None:
            if (combined.fullmatch(text) if whole else combined.match(text)) is not None:
                return False
        elif any(not _gate(p) for p in plain):
            return False  # ungated patterns that could not be combined: try them one by one
        gates = self._gates[action]
        if gates:
            lowered = text.lower()
            for literal in gates:
                if literal in lowered:
                    return False
        return True

    def _of(self, action: BoilerplateAction) -> tuple[BoilerplatePattern, ...]:
        return self._by_action[action]

    def verdict(self, line: str) -> tuple[BoilerplateAction | None, str]:
        """What to do with one line of a text: (DROP_SECTION, DROP_LINE or None, the line to keep).

        The line to keep is `line` itself, or its stripped rest when glued chrome was cut off its
        start; one call does what strip_prefix, starts_section and line_match do in turn.
        """
        stripped = line.strip()
        if self._fast is not None:
            prefix, section, drop, gates = self._fast
            if prefix.match(stripped) is None:
                bullet = BULLET.match(stripped)
                core = stripped[bullet.end() :].strip() if bullet else stripped
                if not core:
                    return None, line
                if section.fullmatch(core) is None and drop.fullmatch(core) is None:
                    lowered = core.lower()
                    for literal in gates:
                        if literal in lowered:
                            break
                    else:
                        return None, line
        rest = self.strip_prefix(stripped)
        if rest != stripped:
            line = rest
        core = line_core(rest)
        if not core:
            return None, line
        if not self._none_can_match(BoilerplateAction.DROP_SECTION, core, whole=True) and any(
            p.regex.fullmatch(core) for p in self._of(BoilerplateAction.DROP_SECTION)
        ):
            return BoilerplateAction.DROP_SECTION, line
        if self._none_can_match(BoilerplateAction.DROP_LINE, core, whole=True):
            return None, line
        dropped = any(p.regex.fullmatch(core) for p in self._of(BoilerplateAction.DROP_LINE))
        return (BoilerplateAction.DROP_LINE if dropped else None), line

    def line_match(self, line: str) -> str | None:
        """Name of the drop_line pattern matching the whole line (bullet marker ignored), else None."""
        core = line_core(line)
        if self._none_can_match(BoilerplateAction.DROP_LINE, core, whole=True):
            return None
        for pattern in self._of(BoilerplateAction.DROP_LINE):
            if pattern.regex.fullmatch(core):
                return pattern.name
        return None

    def starts_section(self, line: str) -> bool:
        """True when the whole line is a chrome section heading such as "Related posts"."""
        core = line_core(line)
        if self._none_can_match(BoilerplateAction.DROP_SECTION, core, whole=True):
            return False
        return any(p.regex.fullmatch(core) for p in self._of(BoilerplateAction.DROP_SECTION))

    def strip_prefix(self, line: str) -> str:
        """The stripped line with leading glued chrome ("Written by X May 10, 2021 5 min read") cut off."""
        text = line if not line or not (line[0].isspace() or line[-1].isspace()) else line.strip()
        if self._none_can_match(BoilerplateAction.STRIP_PREFIX, text, whole=False):
            return text
        prefixes = self._of(BoilerplateAction.STRIP_PREFIX)
        for _ in range(_MAX_PREFIX_ROUNDS):
            before = text
            for pattern in prefixes:
                found = pattern.regex.match(text)
                if found and found.end() > 0:
                    text = text[found.end() :].lstrip(" \t|·•,:;–—-")
            if text == before:
                break
        return text

    def is_chrome_sentence(self, sentence: str) -> bool:
        """True when a sentence is chrome (any line rule, or a skip_sentence rule at its start)."""
        core = line_core(sentence)
        if self.line_match(core) is not None or self.starts_section(core):
            return True
        if self.strip_prefix(core) != core:
            return True
        return any(p.regex.match(core) for p in self._of(BoilerplateAction.SKIP_SENTENCE))


@lru_cache(maxsize=512)
def _gate(pattern: BoilerplatePattern) -> frozenset[str]:
    """The literals gating a slow (`.{0,N}`-led) pattern; empty for a pattern tried in the alternation."""
    return required_literals(pattern.regex.pattern) if scans_ahead(pattern.regex.pattern) else frozenset()


def line_core(line: str) -> str:
    """The line without surrounding whitespace and without a leading bullet or list number."""
    text = line.strip()
    found = BULLET.match(text)
    return text[found.end() :].strip() if found else text
