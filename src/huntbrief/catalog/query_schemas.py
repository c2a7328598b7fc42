"""What emitted queries are checked against: KQL table schemas and the Splunk CIM field list.

Both are data (`data/kql_schemas.yaml`, `data/cim_fields.yaml`), validated here at load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from huntbrief.catalog.datafile import yaml_mapping
from huntbrief.catalog.usecases import DATA_DIR
from huntbrief.catalog.yaml_reader import YamlReader, read_text

KQL_TYPES = frozenset(
    {"string", "int", "long", "real", "double", "bool", "datetime", "timespan", "dynamic", "guid", "decimal"}
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Schema = Mapping[str, Mapping[str, str]]  # table -> column -> KQL type


@dataclass(frozen=True, slots=True)
class CimDataset:
    """One CIM dataset (`Endpoint.Processes`): the node name fields use, its fields, a default split-by."""

    name: str
    node: str
    fields: frozenset[str]
    by: tuple[str, ...]


def _columns(
    reader: YamlReader, key: str, groups: Mapping[str, object], seen: tuple[str, ...] = ()
) -> dict[str, str]:
    """The columns of one table or group: its `include`d groups' columns, then its own."""
    entry = reader.child(key)
    columns: dict[str, str] = {}
    for group in entry.texts("include") if "include" in entry.data else ():
        if group not in groups or group in seen:
            entry.fail(f"unknown or circular group {group!r}", "include")
        columns.update(
            _columns(
                YamlReader(groups, reader.location, "groups", reader.source), group, groups, (*seen, group)
            )
        )
    own = {str(c): t for c, t in entry.data.items() if c != "include"}
    bad = sorted(f"{c}:{t}" for c, t in own.items() if not _NAME.match(c) or t not in KQL_TYPES)
    if bad:
        entry.fail(f"bad columns {bad}; types must be one of {sorted(KQL_TYPES)}")
    columns.update(own)
    if not columns:
        entry.fail("declares no columns")
    return columns


def _schema(reader: YamlReader, name: str, groups: Mapping[str, object]) -> Schema:
    tables = reader.child(name)
    result: dict[str, Mapping[str, str]] = {}
    for table in tables.data:
        if not _NAME.match(str(table)):
            tables.fail("is not a table name", str(table))
        result[str(table)] = MappingProxyType(_columns(tables, str(table), groups))
    return MappingProxyType(result)


def load_kql_schemas(path: Path | None = None) -> Mapping[str, Schema]:
    """The KQL schemas by name (`defender`, `sentinel`): table -> column -> type, groups expanded."""
    if path is None:
        return _packaged_kql()
    text = read_text(path)
    reader = YamlReader(yaml_mapping(text, str(path)), str(path), text=text)
    reader.only(("groups", "schemas"))
    groups = reader.child("groups").data if "groups" in reader.data else {}
    schemas = reader.child("schemas")
    if not schemas.data:
        schemas.fail("must declare at least one schema")
    return MappingProxyType({str(n): _schema(schemas, str(n), groups) for n in schemas.data})


def _dataset(reader: YamlReader, name: str) -> CimDataset:
    if not re.match(r"^[A-Z][A-Za-z_]*\.[A-Z][A-Za-z_]*$", name):
        reader.fail("dataset names look like Model.Dataset", name)
    entry = reader.child(name)
    entry.only(("fields", "by", "node"))
    fields = frozenset(entry.texts("fields"))
    by = entry.texts("by")
    if not set(by) <= fields:
        entry.fail(f"split-by fields {sorted(set(by) - fields)} are not fields of {name}", "by")
    node = entry.text("node") if "node" in entry.data else name.split(".", 1)[1]
    return CimDataset(name, node, fields, by)


def load_cim_fields(path: Path | None = None) -> Mapping[str, CimDataset]:
    """The CIM datasets by `Model.Dataset` name, each with its fields."""
    if path is None:
        return _packaged_cim()
    text = read_text(path)
    reader = YamlReader(yaml_mapping(text, str(path)), str(path), text=text)
    datasets = reader.child("datasets")
    return MappingProxyType({str(n): _dataset(datasets, str(n)) for n in datasets.data})


@lru_cache(maxsize=1)
def _packaged_kql() -> Mapping[str, Schema]:
    return load_kql_schemas(DATA_DIR / "kql_schemas.yaml")


@lru_cache(maxsize=1)
def _packaged_cim() -> Mapping[str, CimDataset]:
    return load_cim_fields(DATA_DIR / "cim_fields.yaml")
