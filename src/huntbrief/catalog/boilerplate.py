"""Page-chrome patterns ("In this article", bylines, cookie banners…): the loader of the catalogue.

The knowledge lives in `catalog/data/boilerplate.yaml`; this module reads, validates and compiles it
into the typed patterns of `boilerplate_model` (re-exported here), which answer line/sentence
questions. What to do with a whole text is the articles stage's business.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from huntbrief.catalog.boilerplate_model import (
    BoilerplateAction,
    BoilerplatePattern,
    BoilerplatePatterns,
    line_core,
)
from huntbrief.catalog.datafile import compose_yaml
from huntbrief.errors import CatalogError

__all__ = [
    "PACKAGED_NAME",
    "BoilerplateAction",
    "BoilerplatePattern",
    "BoilerplatePatterns",
    "line_core",
    "load_boilerplate",
    "parse_boilerplate",
]

PACKAGED_NAME = "huntbrief/catalog/data/boilerplate.yaml"

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_FRAGMENT_REF = re.compile(r"\{\{([a-z][a-z0-9_]*)\}\}")
_PATTERN_KEYS = frozenset(("name", "action", "pattern", "description"))


def load_boilerplate(path: Path | None = None) -> BoilerplatePatterns:
    """Load and compile chrome patterns from `path`, or the packaged file (loaded once, cached) when None.

    Raises CatalogError naming the file, line and pattern for bad YAML, bad keys or a regex that fails.
    """
    if path is None:
        return _packaged()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read boilerplate patterns: {exc.strerror}", str(path)) from exc
    return parse_boilerplate(text, str(path))


@lru_cache(maxsize=1)
def _packaged() -> BoilerplatePatterns:
    data = resources.files("huntbrief.catalog").joinpath("data/boilerplate.yaml")
    return parse_boilerplate(data.read_text(encoding="utf-8"), PACKAGED_NAME)


def parse_boilerplate(text: str, name: str) -> BoilerplatePatterns:
    """Validate boilerplate YAML text into BoilerplatePatterns; `name` is the file named in any error."""
    data, item_lines, top_lines = _read_yaml(text, name)
    unknown = sorted(set(data) - {"version", "fragments", "patterns"})
    if unknown:
        raise CatalogError(f"unknown key {unknown[0]!r}", f"{name}:{top_lines.get(unknown[0], 1)}")
    if data.get("version") != 1:
        raise CatalogError(f"unsupported version {data.get('version')!r} (expected 1)", f"{name}:1")
    fragments = _fragments(data.get("fragments") or {}, f"{name}:{top_lines.get('fragments', 1)}")
    raw = data.get("patterns")
    if not isinstance(raw, list) or not raw:
        raise CatalogError("'patterns' must be a non-empty list", f"{name}:{top_lines.get('patterns', 1)}")
    patterns: list[BoilerplatePattern] = []
    for index, entry in enumerate(raw):
        where = f"{name}:{item_lines[index] if index < len(item_lines) else 1}"
        patterns.append(_pattern(entry, fragments, where))
    names = [p.name for p in patterns]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise CatalogError(f"pattern name {duplicate!r} is used twice", name)
    return BoilerplatePatterns(patterns=tuple(patterns), source=name)


def _read_yaml(text: str, name: str) -> tuple[dict[str, Any], list[int], dict[str, int]]:
    """The parsed mapping, the line of each `patterns` item, and the line of each top-level key."""
    try:
        node, data = compose_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CatalogError(f"invalid YAML: {exc}", f"{name}{line}") from exc
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise CatalogError("expected a mapping with 'version' and 'patterns'", name)
    top_lines: dict[str, int] = {}
    item_lines: list[int] = []
    for key, value in node.value:
        top_lines[str(key.value)] = key.start_mark.line + 1
        if key.value == "patterns" and isinstance(value, yaml.SequenceNode):
            item_lines = [item.start_mark.line + 1 for item in value.value]
    return data, item_lines, top_lines


def _fragments(raw: Any, where: str) -> dict[str, str]:
    """Named regex fragments, each expanded with the fragments defined before it."""
    if not isinstance(raw, dict):
        raise CatalogError("'fragments' must map names to regex strings", where)
    done: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _NAME.fullmatch(key) or not isinstance(value, str):
            raise CatalogError(f"fragment {key!r} must be a lower_case name mapped to a string", where)
        done[key] = _expand(value, done, f"fragment {key!r}", where)
    return done


def _expand(pattern: str, fragments: dict[str, str], what: str, where: str) -> str:
    def swap(found: re.Match[str]) -> str:
        if found.group(1) not in fragments:
            raise CatalogError(f"{what} uses unknown fragment {{{{{found.group(1)}}}}}", where)
        return f"(?:{fragments[found.group(1)]})"

    return _FRAGMENT_REF.sub(swap, pattern)


def _pattern(entry: Any, fragments: dict[str, str], where: str) -> BoilerplatePattern:
    if not isinstance(entry, dict):
        raise CatalogError("each pattern must be a mapping with name, action and pattern", where)
    unknown = sorted(set(entry) - _PATTERN_KEYS)
    if unknown:
        raise CatalogError(
            f"unknown pattern key {unknown[0]!r}; valid: {', '.join(sorted(_PATTERN_KEYS))}", where
        )
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise CatalogError(f"pattern name {name!r} must be lower_case letters, digits and _", where)
    try:
        action = BoilerplateAction(str(entry.get("action")))
    except ValueError:
        valid = ", ".join(a.value for a in BoilerplateAction)
        raise CatalogError(
            f"pattern {name!r}: unknown action {entry.get('action')!r}; valid: {valid}", where
        ) from None
    source = entry.get("pattern")
    if not isinstance(source, str) or not source.strip():
        raise CatalogError(f"pattern {name!r}: 'pattern' must be a non-empty string", where)
    expanded = _expand(source, fragments, f"pattern {name!r}", where)
    try:
        regex = re.compile(expanded)
    except re.error as exc:
        raise CatalogError(f"pattern {name!r} does not compile: {exc}", where) from exc
    if regex.fullmatch(""):
        raise CatalogError(f"pattern {name!r} matches the empty string", where)
    return BoilerplatePattern(name, action, regex, str(entry.get("description") or ""))
