"""The SIEM query backends, one class each, with our fixes to pySigma 1.x's output.

Our fixes (each covered by tests/adapters/test_siem.py):
- splunk: Sysmon `TargetObject` is the full value path; pySigma maps it to the CIM key name
  (`Registry.registry_key_name`), we map it to `Registry.registry_path`; `summariesonly=true`
  instead of `summariesonly=false allow_old_summaries=true fillnull_value="null"`; a split-by list
  of real CIM fields (from cim_fields.yaml) instead of pySigma's.
- all backends: `TargetObject|contains` with a trailing backslash becomes the equivalent regex
  (pySigma's registry handling reads `\\*` as an escaped `*` and turns `contains: '\\Run\\'`
  into `endswith "\\Run*"`).
- kql, sentinel: port numbers are compared as numbers (pySigma emits `RemotePort in~ ("4444")`,
  a string comparison on an int column); Sysmon `TargetObject` (key + value name) is matched
  against `RegistryKey` + `\\` + the value name (`(Default)` when empty), not against the key
  alone; Sysmon's `DWORD (0x00000001)` registry data is compared as Defender/ASIM write it (`1`).
- elastic: backslashes inside ES|QL `like` patterns are escaped (`\\` is LIKE's escape character).
- splunk_plain: the base search is restricted to the Sysmon channel and event code of the rule's
  category (pySigma's Windows pipeline emits none, so the search runs over every index).

The `TargetObject|contains` regex and the integer ports are applied to the detection before
conversion (siem_sigma.py); the rest correct the converted text in each backend's `fix`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from huntbrief.adapters.siem_sigma import SigmaBackend
from huntbrief.catalog.query_schemas import load_cim_fields
from huntbrief.errors import BackendError

SYSMON_EVENT_CODES: Mapping[str, str] = MappingProxyType(
    {
        "process_creation": "1",
        "network_connection": "3",
        "image_load": "7",
        "file_event": "11",
        "registry_add": "12",
        "registry_set": "13",
        "registry_event": "12,13,14",
        "dns_query": "22",
    }
)


def _attr(module: str, name: str) -> Any:
    """`module.name`, imported on first use (pySigma backends are optional and untyped)."""
    return getattr(importlib.import_module(module), name)


_KQL_PORT_LIST = re.compile(
    r'\b(RemotePort|LocalPort|DstPortNumber|SrcPortNumber) in~ \(((?:"\d+"(?:, )?)+)\)'
)
_KQL_PORT_EQ = re.compile(r'\b(RemotePort|LocalPort|DstPortNumber|SrcPortNumber) (==|=~) "(\d+)"')
_KQL_DWORD = re.compile(r'\bRegistryValueData (==|=~) "DWORD \(0x([0-9A-Fa-f]{8})\)"')


def fix_kql(text: str, registry_table: str, value_column: str) -> str:
    """Numeric port comparisons; registry paths compared as key + value name (see module doc)."""
    text = _KQL_PORT_LIST.sub(lambda m: f"{m.group(1)} in ({m.group(2).replace(chr(34), '')})", text)
    text = _KQL_PORT_EQ.sub(r"\1 == \3", text)
    text = _KQL_DWORD.sub(lambda m: f'RegistryValueData == "{int(m.group(2), 16)}"', text)
    head, _, rest = text.partition("\n")
    if head.strip() == registry_table and re.search(r"\bRegistryKey\b", rest):
        rest = re.sub(r"\bRegistryKey\b", "RegistryPath", rest)
        name = f'iff(isempty({value_column}), "(Default)", {value_column})'
        extend = f'| extend RegistryPath = strcat(RegistryKey, "\\\\", {name})'
        text = f"{head}\n{extend}\n{rest}"
    return text


class SplunkCim(SigmaBackend):
    """Splunk SPL over CIM data models (`tstats summariesonly=true ... | drop_dm_object_name`)."""

    name = "splunk"
    label = "Splunk SPL (CIM)"
    requires = ("sigma.collection", "sigma.backends.splunk")
    output_format = "data_model"

    def _backend(self) -> Any:
        SplunkBackend = _attr("sigma.backends.splunk", "SplunkBackend")
        splunk_cim_data_model = _attr("sigma.pipelines.splunk", "splunk_cim_data_model")
        from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
        from sigma.processing.transformations import FieldMappingTransformation

        ours = ProcessingPipeline(
            name="huntbrief CIM fixes",
            priority=100,
            items=[
                ProcessingItem(
                    identifier="huntbrief_registry_path",
                    transformation=FieldMappingTransformation(
                        {"Registry.registry_key_name": "Registry.registry_path"}
                    ),
                )
            ],
        )
        return SplunkBackend(splunk_cim_data_model() + ours)

    def fix(self, text: str, logic: Mapping[str, Any]) -> str:
        """summariesonly=true, our CIM split-by list, one command per line."""
        text = re.sub(
            r'summariesonly=false allow_old_summaries=true fillnull_value="null"', "summariesonly=true", text
        )
        model = re.search(r"from datamodel=(\w+\.\w+)", text)
        dataset = load_cim_fields().get(model.group(1)) if model else None
        if dataset is not None:
            by = " ".join(f"{dataset.node}.{f}" for f in dataset.by)
            text = re.sub(r" by [^|]*", f" by {by} ", text, count=1)
        text = re.sub(r'\s*\| convert timeformat="[^"]*" ctime\(\w+\)', "", text)
        return "\n| ".join(part.strip() for part in _split_pipes(text)).strip()


def _split_pipes(text: str) -> list[str]:
    """Split at `|` outside double-quoted strings (SPL), keeping the leading empty part."""
    parts, current, quoted, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch == "|" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


class SplunkPlain(SigmaBackend):
    """Splunk SPL over raw Sysmon events (XmlWinEventLog), no data models needed."""

    name = "splunk_plain"
    label = "Splunk SPL"
    requires = ("sigma.collection", "sigma.backends.splunk")

    def _backend(self) -> Any:
        SplunkBackend = _attr("sigma.backends.splunk", "SplunkBackend")
        splunk_windows_pipeline = _attr("sigma.pipelines.splunk", "splunk_windows_pipeline")

        return SplunkBackend(splunk_windows_pipeline())

    def fix(self, text: str, logic: Mapping[str, Any]) -> str:
        """Prefix the base search with the Sysmon source and the category's event code(s)."""
        codes = SYSMON_EVENT_CODES.get(str(logic["logsource"].get("category")), "")
        if not codes or text.startswith("|"):
            return text
        event = f"EventCode={codes}" if "," not in codes else f"EventCode IN ({codes.replace(',', ', ')})"
        return f'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" {event} {text}'


class _Kusto(SigmaBackend):
    """KQL through pySigma's Kusto backend with one of its pipelines, plus our KQL fixes."""

    requires = ("sigma.collection", "sigma.backends.kusto")
    pipeline: ClassVar[tuple[str, str]]  # (module, function) of the pySigma processing pipeline
    registry: ClassVar[tuple[str, str]]  # (table, value-name column) of registry events

    def _backend(self) -> Any:
        KustoBackend = _attr("sigma.backends.kusto", "KustoBackend")
        return KustoBackend(_attr(*self.pipeline)())

    def fix(self, text: str, logic: Mapping[str, Any]) -> str:
        """Numeric ports and full registry paths (module doc)."""
        return fix_kql(text, *self.registry)


class DefenderXdr(_Kusto):
    """Microsoft Defender XDR advanced hunting KQL (DeviceProcessEvents, DeviceRegistryEvents, ...)."""

    name = "kql"
    label = "Microsoft Defender XDR KQL"
    pipeline = ("sigma.pipelines.microsoftxdr", "microsoft_xdr_pipeline")
    registry = ("DeviceRegistryEvents", "RegistryValueName")


class SentinelAsim(_Kusto):
    """Microsoft Sentinel KQL over the ASIM unifying parsers (imProcessCreate, imRegistry, ...)."""

    name = "sentinel"
    label = "Microsoft Sentinel KQL"
    pipeline = ("sigma.pipelines.sentinelasim", "sentinel_asim_pipeline")
    registry = ("imRegistry", "RegistryValue")


class ElasticEsql(SigmaBackend):
    """Elastic ES|QL over ECS fields (Elastic Agent / Winlogbeat Sysmon data)."""

    name = "elastic"
    label = "Elastic ES|QL"
    requires = ("sigma.collection", "sigma.backends.elasticsearch")

    def _backend(self) -> Any:
        ESQLBackend = _attr("sigma.backends.elasticsearch", "ESQLBackend")
        ecs_windows = _attr("sigma.pipelines.elasticsearch.windows", "ecs_windows")

        return ESQLBackend(ecs_windows())

    def fix(self, text: str, logic: Mapping[str, Any]) -> str:
        """Query the logs data streams, and escape backslashes inside `like` patterns.

        Lucene regular expressions (`rlike`) have no inline flags, so a case-insensitive regex can't convert.
        """
        if 'rlike "(?i)' in text:
            raise BackendError(
                "elastic: ES|QL rlike (Lucene regex) has no case-insensitive flag", location="rlike"
            )
        text = re.sub(r"^from \* metadata _id, _index, _version \| ", "FROM logs-*\n| ", text)
        return re.sub(
            r'( like )"((?:[^"\\\\]|\\\\.)*)"',
            lambda m: f'{m.group(1)}"{m.group(2).replace(chr(92) * 2, chr(92) * 4)}"',
            text,
        )
