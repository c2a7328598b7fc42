"""Helpers for the YAML catalogue loaders: parse, locate a key's line, compile and anchor data regexes."""

from __future__ import annotations

import importlib
import re
from typing import Any

import yaml

from huntbrief.errors import CatalogError

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def compose_yaml(text: str) -> tuple[Any, Any]:
    """(node tree, data) of one YAML document, parsed once with libyaml when available.

    The node tree keeps the line of every key and item, for errors naming file:line. Raises
    yaml.YAMLError on bad YAML.
    """
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def compile_pattern(pattern: str, location: str) -> re.Pattern[str]:
    """Compile a case-insensitive data regex, or raise CatalogError naming it."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise CatalogError(f"bad regex {pattern!r}: {exc}", location=location) from exc


def key_line(text: str, key: str) -> int:
    """The 1-based line where `key:` first appears in YAML text (0 when not found)."""
    found = re.search(rf"^\s*['\"]?{re.escape(key)}['\"]?\s*:", text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else 0


class _UniqueKeyLoader(_SafeLoader):
    """A safe loader that refuses a key written twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def yaml_mapping(text: str, location: str) -> dict[str, Any]:
    """Parse YAML text whose top level must be a mapping; a duplicate key is an error too.

    CatalogError carries file:line.
    """
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CatalogError(f"invalid YAML: {exc}", location=f"{location}{line}") from exc
    if not isinstance(data, dict):
        raise CatalogError("top level must be a mapping", location=location)
    return data


def required_literals(pattern: str) -> frozenset[str]:
    """Lower-case literals (3+ chars) one of which every match of `pattern` contains; empty if unknown.

    A pure speed-up: the stage skips a rule on text that holds none of them. Uses the standard
    library's regex parser; if that is unavailable or fails, the rule is simply always tried.
    """
    try:
        parser: Any = importlib.import_module("re._parser")
        found = _literals(parser.parse(pattern, re.IGNORECASE), importlib.import_module("re._constants"))
    except Exception:  # noqa: BLE001 - any parser trouble only costs speed
        return frozenset()
    return frozenset(found or ())


def _selectivity(literal: str) -> int:
    """How rare a literal is, in characters: one non-ASCII character (©, ™) counts as three."""
    return len(literal) + 2 * sum(1 for char in literal if not char.isascii())


def scans_ahead(pattern: str) -> bool:
    """True when a match of `pattern` may start with `.{0,N}`/`.*` (re tries every offset then: slow)."""
    try:
        parser: Any = importlib.import_module("re._parser")
        ops = importlib.import_module("re._constants")
        return _leads_with_any(parser.parse(pattern), ops)
    except Exception:  # noqa: BLE001 - unknown: treat as an ordinary pattern
        return False


def _leads_with_any(sequence: Any, ops: Any) -> bool:
    items = list(sequence)
    if not items:
        return False
    op, arg = items[0]
    if op is ops.SUBPATTERN:
        return _leads_with_any(arg[-1], ops)
    if op is ops.BRANCH:
        return any(_leads_with_any(branch, ops) for branch in arg[1])
    if op in {getattr(ops, name, None) for name in _REPEATS}:
        inner = list(arg[2])
        return bool(inner) and inner[0][0] is ops.ANY
    return False


def _literals(sequence: Any, ops: Any) -> set[str] | None:
    """The most selective any-of set of literals required by a parsed sequence, or None."""
    best: set[str] | None = None
    run: list[str] = []

    def consider(candidate: set[str] | None) -> None:
        nonlocal best
        shortest = min(map(_selectivity, candidate)) if candidate else 0
        if candidate and shortest >= 3 and (best is None or shortest > min(map(_selectivity, best))):
            best = {c.lower() for c in candidate}

    for op, arg in sequence:
        if op is ops.LITERAL:
            run.append(chr(arg))
            continue
        consider({"".join(run)} if run else None)
        run = []
        if op is ops.SUBPATTERN:
            consider(_literals(arg[-1], ops))
        elif op is ops.BRANCH:
            alternatives = [_literals(branch, ops) for branch in arg[1]]
            if all(alternatives):
                consider({literal for alternative in alternatives if alternative for literal in alternative})
        elif op in {getattr(ops, name, None) for name in _REPEATS} and arg[0] >= 1:
            consider(_literals(arg[2], ops))
    consider({"".join(run)} if run else None)
    return best


# --- which characters a pattern's match can start with (for skipping it cheaply) ------------------

_ASCII = frozenset(map(chr, range(128)))
_DIGITS = frozenset(c for c in _ASCII if c.isdecimal())
_SPACES = frozenset(c for c in _ASCII if c.isspace())
_WORD = frozenset(c for c in _ASCII if c.isalnum() or c == "_")
_UNMODELLED_FLAGS = re.ASCII | re.LOCALE | re.VERBOSE | re.DEBUG


class _Unmodelled(Exception):
    """A construct `first_chars` does not model: the caller keeps the plain pattern."""


def parse_regex(pattern: str, flags: int = 0) -> Any | None:
    """The standard library's parse tree of `pattern`, or None when the parser is unavailable or fails.

    One parse can feed several analyses (`tree_scans_ahead`, `first_chars`); `flags` matter only
    for VERBOSE (whitespace and comments) and any inline global flags end up in the tree.
    """
    try:
        parser: Any = importlib.import_module("re._parser")
        return parser.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - no tree: every analysis answers "unknown"
        return None


def tree_scans_ahead(tree: Any) -> bool:
    """`scans_ahead` for an already parsed pattern (False when unknown)."""
    try:
        return _leads_with_any(tree, importlib.import_module("re._constants"))
    except Exception:  # noqa: BLE001 - unknown: treat as an ordinary pattern
        return False


def first_chars(tree: Any, flags: int = 0) -> frozenset[str] | None:
    """The ASCII characters a match of a parsed pattern, compiled with `flags`, can start with (any
    non-ASCII character may too).

    A superset, so a text whose first character is ASCII and not in it cannot match at its start.
    None when unknown: the pattern can match the empty string (then any text can match), or uses
    something not modelled here (backreferences, conditionals, ASCII/LOCALE/VERBOSE flags).
    Case-insensitive parts count both cases; their non-ASCII equivalents (KELVIN SIGN for k, long s)
    are covered by "any non-ASCII character".
    """
    try:
        ops = importlib.import_module("re._constants")
        chars, empty = _first(tree.data, int(tree.state.flags) | flags, ops)
    except Exception:  # noqa: BLE001 - _Unmodelled, or a parser whose trees look different
        return None
    return None if empty else chars


def _first(sequence: Any, flags: int, ops: Any) -> tuple[frozenset[str], bool]:
    """(ASCII first characters, whether it can match empty) of a parsed sequence under `flags`."""
    if flags & _UNMODELLED_FLAGS:
        raise _Unmodelled
    found: set[str] = set()
    for op, arg in getattr(sequence, "data", sequence):  # a parser SubPattern, or a plain list
        chars, empty = _first_of(op, arg, flags, ops)
        found |= chars
        if not empty:
            return frozenset(found), False
    return frozenset(found), True


def _first_of(op: Any, arg: Any, flags: int, ops: Any) -> tuple[frozenset[str], bool]:
    """(ASCII first characters, can it match empty) of one parsed item."""
    folded = bool(flags & re.IGNORECASE)
    if op is ops.LITERAL:
        return _literal_chars(arg, folded), False
    if op is ops.IN:
        return _set_chars(arg, folded, ops), False
    if op is ops.NOT_LITERAL or op is ops.ANY:
        return _ASCII, False
    if op is ops.SUBPATTERN:
        return _first(arg[-1], (flags | arg[1]) & ~arg[2], ops)
    if op is ops.ATOMIC_GROUP:
        return _first(arg, flags, ops)
    if op is ops.BRANCH:
        branches = [_first(branch, flags, ops) for branch in arg[1]]
        return frozenset().union(*(c for c, _ in branches)), any(e for _, e in branches)
    if op is ops.MAX_REPEAT or op is ops.MIN_REPEAT or op is getattr(ops, "POSSESSIVE_REPEAT", None):
        chars, empty = _first(arg[2], flags, ops)
        return chars, empty or arg[0] == 0
    if op is ops.AT or op is ops.ASSERT or op is ops.ASSERT_NOT:
        return frozenset(), True  # zero width: the next item supplies the first character
    raise _Unmodelled(op)


def _literal_chars(code: int, folded: bool) -> frozenset[str]:
    """ASCII characters matching one literal; a folded non-ASCII one may match ASCII (KELVIN SIGN: k)."""
    if code >= 128:
        return _ASCII if folded else frozenset()
    return _with_cases({chr(code)}) if folded else frozenset({chr(code)})


def _set_chars(items: list[Any], folded: bool, ops: Any) -> frozenset[str]:
    """ASCII characters matching a parsed character class (all of them for a negated class)."""
    chars: set[str] = set()
    for op, arg in items:
        if op is ops.LITERAL:
            if folded and arg >= 128:
                return _ASCII
            if arg < 128:
                chars.add(chr(arg))
        elif op is ops.RANGE:
            if folded and arg[1] >= 128:
                return _ASCII
            chars.update(map(chr, range(arg[0], min(arg[1], 127) + 1)))
        elif op is ops.CATEGORY:
            chars.update(_category_chars(arg, ops))
        else:  # NEGATE, or an item this analysis does not know
            return _ASCII
    return _with_cases(chars) if folded else frozenset(chars)


def _category_chars(category: Any, ops: Any) -> frozenset[str]:
    """ASCII characters of \\d, \\s, \\w or their negations (Unicode rules, which str methods share)."""
    for kind, chars in (("DIGIT", _DIGITS), ("SPACE", _SPACES), ("WORD", _WORD)):
        if category is getattr(ops, f"CATEGORY_{kind}"):
            return chars
        if category is getattr(ops, f"CATEGORY_NOT_{kind}"):
            return _ASCII - chars
    raise _Unmodelled(category)


def _with_cases(chars: set[str]) -> frozenset[str]:
    """The ASCII `chars` with their other (ASCII) case."""
    return frozenset(chars).union(map(str.lower, chars), map(str.upper, chars))
