"""The pySigma conversion core every SIEM backend shares: the `SigmaBackend` base class.

A backend parses a use case's Sigma `logsource` + `detection` YAML, applies our detection-side
fixes (digit-only port values become integers; `TargetObject|contains` values ending in a
backslash become the equivalent regex), converts it with its pySigma backend, then corrects the
output text (`fix`, see siem_backends.py). pySigma is imported lazily, in memory, with no network.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import yaml

from huntbrief.catalog.usecases import QUERY_LANGUAGES
from huntbrief.errors import BackendError

PORT_FIELDS = frozenset({"DestinationPort", "SourcePort", "dst_port", "src_port"})


class SigmaBackend:
    """Base of every backend: name, query language, label, and Sigma conversion with our fixes."""

    name: ClassVar[str]
    label: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ("sigma.collection",)

    @property
    def language(self) -> str:
        """The fenced-block language of this backend's queries (spl, kql, esql)."""
        return QUERY_LANGUAGES[self.name]

    def available(self) -> bool:
        """True when every module this backend's Sigma conversion needs can be imported."""
        return all(
            importlib.util.find_spec(m.split(".")[0]) and importlib.util.find_spec(m) for m in self.requires
        )

    def convert(self, sigma: str, title: str = "huntbrief use case") -> str:
        """The query for a Sigma `logsource` + `detection` YAML; BackendError when it can't convert."""
        from sigma.collection import SigmaCollection
        from sigma.exceptions import SigmaError

        logic = _numeric_ports(yaml.safe_load(sigma))
        rule = {"title": title, "status": "test", **logic}
        try:
            collection = SigmaCollection.from_dicts([rule])  # parsed fresh: pySigma mutates rules
            queries = self._backend().convert(collection, self.output_format)
        except SigmaError as exc:
            raise BackendError(f"{self.name}: {exc}", location=title) from exc
        if len(queries) != 1 or not isinstance(queries[0], str):
            raise BackendError(f"{self.name}: expected one query, got {len(queries)}", location=title)
        return self.fix(queries[0].strip(), logic)

    output_format: ClassVar[str] = "default"

    def _backend(self) -> Any:
        raise NotImplementedError

    def fix(self, text: str, logic: Mapping[str, Any]) -> str:
        """Our corrections to the converted text (identity unless a backend overrides it)."""
        return text


def _numeric_ports(logic: Any) -> Any:
    """The detection with digit-only strings of port fields turned into integers."""

    def fix_value(field: str, value: Any) -> Any:
        if field.split("|", 1)[0] not in PORT_FIELDS:
            return value
        if isinstance(value, list):
            return [int(v) if isinstance(v, str) and v.isdigit() else v for v in value]
        return int(value) if isinstance(value, str) and value.isdigit() else value

    def fix_selection(selection: Any) -> Any:
        if isinstance(selection, list):
            return [fix_selection(s) for s in selection]
        if isinstance(selection, dict):
            return dict(_trailing_backslash(str(k), fix_value(str(k), v)) for k, v in selection.items())
        return selection

    detection = {k: (v if k == "condition" else fix_selection(v)) for k, v in logic["detection"].items()}
    return {**logic, "detection": detection}


def _trailing_backslash(key: str, value: Any) -> tuple[str, Any]:
    """`TargetObject|contains` values ending in a backslash become an equivalent escaped regex.

    pySigma's registry transformations re-parse the value, so `\\*` turns into an escaped `*`.
    """
    field, *modifiers = key.split("|")
    values = value if isinstance(value, list) else [value]
    if field != "TargetObject" or modifiers != ["contains"]:
        return key, value
    if not any(isinstance(v, str) and v.endswith("\\") for v in values):
        return key, value
    return f"{field}|re", "(?i)(" + "|".join(_regex_literal(str(v)) for v in values) + ")"


def _regex_literal(text: str) -> str:
    """`text` as a regex matching itself: only metacharacters escaped, valid in RE2, PCRE and re."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text)
