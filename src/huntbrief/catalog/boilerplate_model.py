"""Page-chrome patterns as typed, compiled data: actions, patterns, and the line/sentence questions.

Built by `huntbrief.catalog.boilerplate` (which reads and validates the YAML); this module only
answers "is this line chrome?" fast: one alternation per action, slow `.{0,N}`-led patterns gated by
the literals every match of them contains, and a fast path for the common line no pattern touches.
Each member of an alternation is led by the class of characters its matches can start with (derived
from the parsed pattern), so the regex engine skips it at the cost of one character test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from huntbrief.catalog.datafile import first_chars, parse_regex, required_literals, tree_scans_ahead
from huntbrief.catalog.regex_lead import LEAD_FLAGS, cannot_lead, covering_keys, led_member

BULLET = re.compile(r"(?:[-*•·▪►]|\d{1,3}[.)])\s+")
_MAX_PREFIX_ROUNDS = 12


def _alternation(patterns: tuple[BoilerplatePattern, ...], *, whole: bool) -> re.Pattern[str] | None:
    """One regex whose `match` tells whether any of `patterns` matches (same flags), or None.

    `whole`: the pattern must match all of the text (as `fullmatch`), else its start (as `match`).
    Members are led by their first-character class (`_led`); if that fails to compile, plain ones.
    """
    if not patterns or len({p.regex.flags for p in patterns}) != 1:
        return None
    tail = r"\Z" if whole else ""
    flags = patterns[0].regex.flags
    plain = "|".join(f"(?:{p.regex.pattern}){tail}" for p in patterns)
    if not flags & ~LEAD_FLAGS:
        try:
            folded = bool(flags & re.IGNORECASE)
            return re.compile("|".join(_led(p, tail, folded) for p in patterns), flags)
        except re.error:
            pass
    try:
        return re.compile(plain, flags)
    except re.error:
        return None


def _led(pattern: BoilerplatePattern, tail: str, folded: bool) -> str:
    r"""`(?:P)tail` as an alternation member that `re` skips with one test when the first character
    cannot start a match of P.

    `[C](?<=(?=(?:P)tail)[\s\S])` matches exactly when P does: the class C (every character a match
    can start with) consumes the first character, then the look-behind steps back over it and runs
    P itself from the start. re enters a member led by a class only when the class matches.
    `folded`: the alternation is compiled case-insensitively (the class is kept case-sensitive).
    """
    return led_member(pattern.regex.pattern, _shape(pattern).first, tail, folded)


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
    # The alternations and gate tests of `verdict`'s fast path: the common case of a line no pattern
    # can touch, decided without method calls (None: always the slow path)
    _fast: _FastPath | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped = {a: tuple(p for p in self.patterns if p.action is a) for a in BoilerplateAction}
        matched = {a: ps for a, ps in grouped.items() if a in _WHOLE}  # skip_sentence: tried one by one
        gated = {p.name: _gate(p) for ps in matched.values() for p in ps}
        object.__setattr__(self, "_by_action", grouped)
        any_of = {
            a: _alternation(tuple(p for p in ps if not gated[p.name]), whole=_WHOLE[a])
            for a, ps in matched.items()
        }
        object.__setattr__(self, "_any", any_of)
        object.__setattr__(
            self,
            "_gates",
            {a: frozenset(lit for p in ps for lit in gated[p.name]) for a, ps in matched.items()},
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
        fast = None
        if ungated and prefix and section and drop:
            keys = covering_keys(self._gates[BoilerplateAction.DROP_LINE])
            fast = _FastPath(prefix, section, drop, cannot_lead(BULLET), keys)
        object.__setattr__(self, "_fast", fast)

    def _none_can_match(self, action: BoilerplateAction, text: str) -> bool:
        """True only when no pattern of `action` can match `text` (a fast answer for most lines).

        Whole-text actions (drop_line, drop_section) must match all of it, strip_prefix its start.
        """
        plain = self._by_action[action]
        combined = self._any[action]
        if combined is not None:
            if combined.match(text) is not None:
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
            prefix, section, drop, no_bullet, keys = self._fast
            if prefix.match(stripped) is None:
                bullet = None if stripped[:1] in no_bullet else BULLET.match(stripped)
                core = stripped[bullet.end() :].strip() if bullet else stripped
                if not core:
                    return None, line
                if section.match(core) is None and drop.match(core) is None:
                    lowered = core.lower()
                    for key in keys:  # no key, no gate literal: no gated pattern is tried
                        if key in lowered:
                            break
                    else:
                        return None, line
        rest = self.strip_prefix(stripped)
        if rest != stripped:
            line = rest
        core = line_core(rest)
        if not core:
            return None, line
        if not self._none_can_match(BoilerplateAction.DROP_SECTION, core) and any(
            p.regex.fullmatch(core) for p in self._of(BoilerplateAction.DROP_SECTION)
        ):
            return BoilerplateAction.DROP_SECTION, line
        if self._none_can_match(BoilerplateAction.DROP_LINE, core):
            return None, line
        dropped = any(p.regex.fullmatch(core) for p in self._of(BoilerplateAction.DROP_LINE))
        return (BoilerplateAction.DROP_LINE if dropped else None), line

    def line_match(self, line: str) -> str | None:
        """Name of the drop_line pattern matching the whole line (bullet marker ignored), else None."""
        core = line_core(line)
        if self._none_can_match(BoilerplateAction.DROP_LINE, core):
            return None
        for pattern in self._of(BoilerplateAction.DROP_LINE):
            if pattern.regex.fullmatch(core):
                return pattern.name
        return None

    def starts_section(self, line: str) -> bool:
        """True when the whole line is a chrome section heading such as "Related posts"."""
        core = line_core(line)
        if self._none_can_match(BoilerplateAction.DROP_SECTION, core):
            return False
        return any(p.regex.fullmatch(core) for p in self._of(BoilerplateAction.DROP_SECTION))

    def strip_prefix(self, line: str) -> str:
        """The stripped line with leading glued chrome ("Written by X May 10, 2021 5 min read") cut off."""
        text = line if not line or not (line[0].isspace() or line[-1].isspace()) else line.strip()
        if self._none_can_match(BoilerplateAction.STRIP_PREFIX, text):
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


class _FastPath(NamedTuple):
    """What `verdict` needs to pass the common line that no pattern touches."""

    prefix: re.Pattern[str]  # the strip_prefix alternation (`match`)
    section: re.Pattern[str]  # the drop_section alternation (`match` means the whole core)
    drop: re.Pattern[str]  # the ungated drop_line alternation (likewise)
    no_bullet: frozenset[str]  # first characters with which BULLET cannot match
    keys: tuple[str, ...]  # pieces of the drop_line gate literals: each literal holds one


class _Shape(NamedTuple):
    """What the parsed regex of a pattern tells: its gate literals and its first characters."""

    gate: frozenset[str]
    first: frozenset[str] | None  # see datafile.first_chars


# Whether an action's patterns must match the whole (trimmed, de-bulleted) line, or only its start;
# skip_sentence patterns are only ever tried one by one.
_WHOLE = {
    BoilerplateAction.DROP_LINE: True,
    BoilerplateAction.DROP_SECTION: True,
    BoilerplateAction.STRIP_PREFIX: False,
}


@lru_cache(maxsize=512)
def _shape(pattern: BoilerplatePattern) -> _Shape:
    """Gate literals and first characters of a pattern, from one parse of its regex."""
    tree = parse_regex(pattern.regex.pattern)  # without flags, as `scans_ahead` reads it
    if tree is None:
        return _Shape(frozenset(), None)
    slow = tree_scans_ahead(tree)
    literals = required_literals(pattern.regex.pattern) if slow else frozenset()
    return _Shape(literals, first_chars(tree, pattern.regex.flags))


def _gate(pattern: BoilerplatePattern) -> frozenset[str]:
    """The literals gating a slow (`.{0,N}`-led) pattern; empty for a pattern tried in the alternation."""
    return _shape(pattern).gate


def line_core(line: str) -> str:
    """The line without surrounding whitespace and without a leading bullet or list number."""
    text = line.strip()
    found = BULLET.match(text)
    return text[found.end() :].strip() if found else text
