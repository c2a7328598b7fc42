"""Noise lists for IOC extraction: the typed `NoiseLists` and its validating loader.

The knowledge lives in `catalog/data/noise.yaml`; this module only checks it and indexes it.
The public-suffix extractor is built here, once per load, from tldextract's bundled snapshot
(no network, no cache directory).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import tldextract
import yaml

from huntbrief.catalog.datafile import compose_yaml
from huntbrief.catalog.phrases import Phrases, alternation_of, phrases_of
from huntbrief.errors import CatalogError

PACKAGED_NAME = "huntbrief/catalog/data/noise.yaml"

_SET_KEYS = (
    "benign_domains",
    "benign_suffixes",
    "hosting_platforms",
    "benign_ips",
    "placeholder_ips",
    "file_extension_tlds",
    "code_prefixes",
    "code_names",
    "asset_extensions",
    "empty_file_hashes",
    "month_names",
    "code_hosting",
    "compromise_words",
    "site_nouns",
    "av_platform_labels",
    "generic_registry_keys",
    "unix_roots",
    "benign_paths",
    "system_folders",
    "system_binaries",
    "file_name_extensions",
)
_PHRASE_KEYS = (
    "version_words",
    "hash_lookup_urls",
    "ioc_headings",
    "section_end_headings",
    "reference_headings",
    "ioc_labels",
    "domain_labels",
    "table_header_words",
    "legitimate_cues",
    "file_labels",
    "network_labels",
    "wallet_labels",
    "system_library_prefixes",
)
_POLICY_KEYS = {"url_hosts_as_indicators": bool, "cve_year_max": int, "cve_year_min": int}
_KNOWN_KEYS = frozenset(("version", "policy", "common_ports", *_SET_KEYS, *_PHRASE_KEYS))
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class NoiseLists:
    """Read-only noise knowledge for `find_indicators`; build it with `load_noise`."""

    benign_domains: frozenset[str]
    benign_suffixes: frozenset[str]
    hosting_platforms: frozenset[str]
    benign_ips: frozenset[str]
    placeholder_ips: frozenset[str]
    file_extension_tlds: frozenset[str]
    code_prefixes: frozenset[str]
    code_names: frozenset[str]
    asset_extensions: frozenset[str]
    empty_file_hashes: frozenset[str]
    month_names: frozenset[str]
    code_hosting: frozenset[str]
    compromise_words: frozenset[str]
    site_nouns: frozenset[str]
    av_platform_labels: frozenset[str]
    generic_registry_keys: frozenset[str]
    unix_roots: frozenset[str]
    benign_paths: frozenset[str]
    system_folders: frozenset[str]
    system_binaries: frozenset[str]
    file_name_extensions: frozenset[str]
    system_library_prefixes: tuple[str, ...]
    file_extension_pattern: re.Pattern[str]  # ".ext" of file_name_extensions, right boundary checked
    file_labels: Phrases
    network_labels: Phrases
    wallet_labels: Phrases
    table_header_words: tuple[str, ...]  # longest first
    legitimate_cues: Phrases
    common_ports: tuple[int, ...]  # most common first
    hash_lookup_urls: tuple[str, ...]
    version_words: frozenset[str]
    ioc_headings: Phrases
    section_end_headings: Phrases
    reference_headings: Phrases
    ioc_labels: Phrases
    domain_labels: Phrases
    url_hosts_as_indicators: bool
    cve_year_min: int
    cve_year_max: int
    tlds: frozenset[str] = field(repr=False, compare=False)
    extractor: Any = field(repr=False, compare=False)

    def parts(self, host: str) -> tuple[str, str]:
        """(registrable domain, public suffix) of a lower-case host; ("", "") when it has no known suffix."""
        result = self.extractor.extract_str(host)
        return result.top_domain_under_public_suffix, result.suffix

    def listed(self, host: str, entries: frozenset[str]) -> bool:
        """True when the host or a parent domain (whole labels, never a substring) is in `entries`."""
        if host in entries:
            return "." in host
        dot = host.find(".")
        while dot != -1:
            rest = host[dot + 1 :]
            if "." not in rest:
                return False  # a bare top-level label is never an entry's match
            if rest in entries:
                return True
            dot = host.find(".", dot + 1)
        return False


def load_noise(path: Path | None = None) -> NoiseLists:
    """Load and validate noise lists from `path`, or the packaged file (cached) when None.

    Raises CatalogError naming the file (and line) for bad YAML, unknown or missing keys, bad values.
    """
    if path is None:
        return _packaged()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read noise lists: {exc.strerror}", str(path)) from exc
    return parse_noise(text, str(path))


@lru_cache(maxsize=1)
def _packaged() -> NoiseLists:
    data = resources.files("huntbrief.catalog").joinpath("data/noise.yaml")
    return parse_noise(data.read_text(encoding="utf-8"), PACKAGED_NAME)


def parse_noise(text: str, name: str) -> NoiseLists:
    """Validate noise-list YAML text into NoiseLists; `name` is the file named in any CatalogError."""
    data, lines = _read_yaml(text, name)
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise CatalogError(
            f"unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(_KNOWN_KEYS))}",
            f"{name}:{lines.get(unknown[0], 1)}",
        )
    missing = sorted(_KNOWN_KEYS - set(data))
    if missing:
        raise CatalogError(f"missing key {missing[0]!r}", name)
    if data["version"] != 1:
        raise CatalogError(
            f"unsupported version {data['version']!r} (expected 1)", f"{name}:{lines['version']}"
        )
    where = {key: f"{name}:{lines.get(key, 1)}" for key in data}
    sets = {key: frozenset(_strings(data[key], where[key])) for key in _SET_KEYS}
    phrases = {key: _strings(data[key], where[key]) for key in _PHRASE_KEYS}
    policy = _policy(data["policy"], where["policy"])
    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tlds = frozenset(extractor.tlds)
    _check_values(sets, tlds, extractor, where)
    return NoiseLists(
        **sets,
        hash_lookup_urls=phrases["hash_lookup_urls"],
        version_words=frozenset(phrases["version_words"]),
        ioc_headings=phrases_of(phrases["ioc_headings"]),
        section_end_headings=phrases_of(phrases["section_end_headings"]),
        reference_headings=phrases_of(phrases["reference_headings"]),
        ioc_labels=phrases_of(phrases["ioc_labels"]),
        domain_labels=phrases_of(phrases["domain_labels"]),
        table_header_words=tuple(sorted(set(phrases["table_header_words"]), key=lambda w: (-len(w), w))),
        legitimate_cues=phrases_of(phrases["legitimate_cues"]),
        file_labels=phrases_of(phrases["file_labels"]),
        network_labels=phrases_of(phrases["network_labels"]),
        wallet_labels=phrases_of(phrases["wallet_labels"]),
        system_library_prefixes=phrases["system_library_prefixes"],
        file_extension_pattern=re.compile(
            rf"\.(?:{alternation_of(sets['file_name_extensions'])})(?![\w$-]|\.\w)", re.IGNORECASE
        ),
        common_ports=_ports(data["common_ports"], where["common_ports"]),
        url_hosts_as_indicators=policy["url_hosts_as_indicators"] is True,
        cve_year_min=_int(policy["cve_year_min"]),
        cve_year_max=_int(policy["cve_year_max"]),
        tlds=tlds,
        extractor=extractor,
    )


def _read_yaml(text: str, name: str) -> tuple[dict[str, Any], dict[str, int]]:
    try:
        node, data = compose_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise CatalogError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", where) from exc
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise CatalogError("noise lists must be a mapping of list names to lists", name)
    lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return data, lines


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise CatalogError("expected a list of non-empty strings", where)
    return tuple(item.strip().lower() for item in value)


def _ports(value: object, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(type(p) is int and 0 < p < 65536 for p in value):
        raise CatalogError("expected a list of port numbers (1-65535)", where)
    return tuple(dict.fromkeys(value))


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _policy(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise CatalogError("policy must be a mapping", where)
    unknown = sorted(set(value) - set(_POLICY_KEYS))
    if unknown:
        raise CatalogError(
            f"unknown policy key {unknown[0]!r}; valid: {', '.join(sorted(_POLICY_KEYS))}", where
        )
    for key, kind in _POLICY_KEYS.items():
        if key not in value or type(value[key]) is not kind:
            raise CatalogError(f"policy.{key} must be a {kind.__name__}", where)
    return dict(value)


def _check_values(
    sets: dict[str, frozenset[str]], tlds: frozenset[str], extractor: Any, where: dict[str, str]
) -> None:
    for key in ("benign_domains", "hosting_platforms", "code_hosting"):
        for domain in sets[key]:
            if not extractor.extract_str(domain).top_domain_under_public_suffix:
                raise CatalogError(f"{domain!r} has no registrable domain", where[key])
    for key in ("benign_suffixes", "file_extension_tlds"):
        _require(sets[key], lambda suffix: suffix in tlds, "is not a public suffix", where[key])
    for key in ("benign_ips", "placeholder_ips"):
        _require(sets[key], _is_ip, "is not an IP address", where[key])
    _require(
        sets["empty_file_hashes"],
        lambda value: len(value) in (32, 40, 64, 128) and _HEX.fullmatch(value) is not None,
        "is not an MD5/SHA-1/SHA-256/SHA-512 hex digest",
        where["empty_file_hashes"],
    )


def _require(values: Iterable[str], check: Any, problem: str, where: str) -> None:
    for value in sorted(values):
        if not check(value):
            raise CatalogError(f"{value!r} {problem}", where)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
