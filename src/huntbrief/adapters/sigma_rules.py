"""SigmaHQ rules from a folder the user names, as hunts: read, map ATT&CK tags, convert, check, attribute.

Each rule (`*.yml` / `*.yaml` below the folder) with ATT&CK technique tags becomes a use case of
kind "sigma": its `logsource` + `detection` are converted by the backends of `siem.py` (with our
fixes), every query is checked (`query_check.py`), and a rule or backend that fails either is left
out with a logged reason. Tags written against a newer ATT&CK are mapped through the crosswalk.
Every hunt keeps the rule's id, title, author and path, and names the Detection Rule License, as
that licence requires. The compiled library is cached per folder state, huntbrief version and
backends, so only the first run after a change pays for the conversion.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from huntbrief import __version__
from huntbrief.adapters.kql_check import KqlChecker
from huntbrief.adapters.output import atomic_write
from huntbrief.adapters.query_check import QueryToCheck, check_queries
from huntbrief.adapters.siem import SigmaBackend, load_backends
from huntbrief.catalog.attack import AttackCatalog
from huntbrief.catalog.attack_crosswalk import AttackCrosswalk
from huntbrief.catalog.killchain import KillChainMapping
from huntbrief.catalog.usecases import PHASES, UseCase, UseCaseLibrary
from huntbrief.errors import ConfigError
from huntbrief.model import Confidence

log = logging.getLogger(__name__)
DRL = "Detection Rule License (DRL) 1.1, https://github.com/SigmaHQ/Detection-Rule-License"
LEVEL_CONFIDENCE = {
    "critical": Confidence.HIGH,
    "high": Confidence.HIGH,
    "medium": Confidence.MEDIUM,
    "low": Confidence.LOW,
    "informational": Confidence.LOW,
}
SKIPPED_STATUS = frozenset({"deprecated", "unsupported"})
CACHE_FORMAT = 1
_TAG = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SigmaRule:
    """What huntbrief keeps of one rule file: attribution, techniques and the detection logic."""

    id: str
    title: str
    author: str
    description: str
    level: str
    path: str  # relative to the folder, with forward slashes
    techniques: tuple[str, ...]
    logic: str  # YAML of the rule's `logsource` + `detection`
    logsource: str
    false_positives: tuple[str, ...]

    @property
    def attribution(self) -> str:
        """The credit the Detection Rule License asks for: rule, author, where it came from, licence."""
        return f'Sigma rule "{self.title}" ({self.id}) by {self.author}, {self.path}; {DRL}'


@dataclass(frozen=True, slots=True)
class SigmaLoad:
    """The compiled library and what happened on the way."""

    library: UseCaseLibrary
    files: int
    skipped: tuple[tuple[str, str], ...]  # (path, reason) of rules left out entirely
    left_out: int  # (rule, backend) pairs that did not convert or failed their checks
    from_cache: bool


def read_rule(path: Path, root: Path, crosswalk: AttackCrosswalk) -> SigmaRule | str:
    """The rule in `path`, or the reason it cannot be a hunt (no technique tag, bad YAML, ...)."""
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return f"unreadable: {type(exc).__name__}"
    if len(documents) != 1 or not isinstance(documents[0], dict):
        return "not a single-document rule (correlation and multi-part rules are not supported)"
    rule: dict[str, Any] = documents[0]
    if not isinstance(rule.get("detection"), dict) or not isinstance(rule.get("logsource"), dict):
        return "no detection or logsource"
    if str(rule.get("status", "")).lower() in SKIPPED_STATUS:
        return f"status {rule['status']}"
    techniques = _techniques(rule.get("tags"), crosswalk)
    if not techniques:
        return "no ATT&CK technique tag known to the catalogue"
    return SigmaRule(
        id=str(rule.get("id") or path.stem),
        title=" ".join(str(rule.get("title") or path.stem).split()),
        author=" ".join(str(rule.get("author") or "unknown author").split()),
        description=" ".join(str(rule.get("description") or "").split()),
        level=str(rule.get("level") or "medium").lower(),
        path=path.relative_to(root).as_posix(),
        techniques=techniques,
        logic=yaml.safe_dump(
            {"logsource": rule["logsource"], "detection": rule["detection"]}, sort_keys=False
        ),
        logsource=" / ".join(str(v) for v in rule["logsource"].values() if isinstance(v, str)),
        false_positives=tuple(str(f) for f in rule.get("falsepositives") or () if f),
    )


def _techniques(tags: Any, crosswalk: AttackCrosswalk) -> tuple[str, ...]:
    found: list[str] = []
    for tag in tags if isinstance(tags, list) else ():
        match = _TAG.match(str(tag))
        tid = crosswalk.resolve(match.group(1)) if match else None
        if tid is not None and tid not in found:
            found.append(tid)
    return tuple(found)


def rule_files(root: Path) -> list[Path]:
    """Every rule file below `root`, sorted; ConfigError when `root` is not a readable folder."""
    if not root.is_dir():
        raise ConfigError("not a folder of Sigma rules", location=str(root))
    return sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def _phase(rule: SigmaRule, attack: AttackCatalog, killchain: KillChainMapping) -> str:
    """The earliest kill-chain phase any of the rule's techniques' tactics reaches."""
    phases = {
        phase
        for tid in rule.techniques
        for tactic in attack.techniques[tid].tactics
        if (phase := killchain.phase_of(tactic))
    }
    ordered = [p for p in PHASES if p in phases]
    return ordered[0] if ordered else "actions-on-objectives"


def rule_usecase(
    rule: SigmaRule, queries: Sequence[tuple[str, str]], attack: AttackCatalog, killchain: KillChainMapping
) -> UseCase:
    """The rule as a use case of kind "sigma" carrying its converted, checked queries."""
    return UseCase(
        id="SIGMA_" + re.sub(r"[^A-Za-z0-9]", "_", rule.id),
        title=rule.title,
        description=rule.description,
        techniques=rule.techniques,
        phase=_phase(rule, attack, killchain),
        confidence=LEVEL_CONFIDENCE.get(rule.level, Confidence.MEDIUM),
        confidence_rule=f"the Sigma rule's level ({rule.level})",
        data_sources=(rule.logsource,) if rule.logsource else (),
        false_positives=rule.false_positives,
        queries=tuple(queries),
        samples_match=(),
        samples_no_match=(),
        kind="sigma",
        attribution=rule.attribution,
    )


def _converted(rules: Sequence[SigmaRule], backends: Sequence[SigmaBackend]) -> Iterator[QueryToCheck]:
    for index, rule in enumerate(rules):
        for backend in backends:
            try:
                text = backend.convert(rule.logic, rule.title)
            except Exception as exc:  # BackendError, and pySigma raises more than SigmaError on odd rules
                log.debug("Sigma rule %s left out of %s: %s", rule.path, backend.name, exc)
                continue
            yield QueryToCheck(f"{index}/{backend.name}", backend.name, text)


def compile_rules(
    rules: Sequence[SigmaRule],
    names: Sequence[str],
    attack: AttackCatalog,
    killchain: KillChainMapping,
    kql: KqlChecker | None,
) -> tuple[list[UseCase], int]:
    """Use cases for the rules with at least one valid query, and how many (rule, backend) were left out."""
    backends = [b for b in load_backends(names) if b.available()]
    converted = list(_converted(rules, backends))
    problems = check_queries(converted, kql)
    for key, problem in problems.items():
        log.info(
            "Sigma rule %s left out of %s: %s", rules[int(key.split("/")[0])].path, key.split("/")[1], problem
        )
    by_rule: dict[int, list[tuple[str, str]]] = {}
    for query in converted:
        if query.key not in problems:
            by_rule.setdefault(int(query.key.split("/")[0]), []).append((query.backend, query.text))
    usecases = [rule_usecase(rules[i], by_rule[i], attack, killchain) for i in sorted(by_rule)]
    return usecases, len(rules) * len(backends) - sum(len(q) for q in by_rule.values())


def _fingerprint(
    root: Path, files: Sequence[Path], names: Sequence[str], attack: AttackCatalog, checked: str
) -> str:
    digest = hashlib.sha256(
        f"{CACHE_FORMAT}|{__version__}|{attack.version}|{','.join(names)}|{checked}".encode()
    )
    for path in files:
        stat = path.stat()
        digest.update(f"\n{path.relative_to(root).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def load_sigma_rules(
    root: Path,
    names: Sequence[str],
    attack: AttackCatalog,
    killchain: KillChainMapping,
    crosswalk: AttackCrosswalk,
    *,
    cache_dir: Path | None = None,
    kql: KqlChecker | None = None,
) -> SigmaLoad:
    """The rules below `root` compiled for the backends `names` (from the cache when unchanged)."""
    files = rule_files(root)
    cache = (
        cache_dir / f"sigma-{_fingerprint(root, files, names, attack, 'ls' if kql else 're2')}.json"
        if cache_dir
        else None
    )
    if cache is not None and (cached := _read_cache(cache)) is not None:
        return cached
    rules: list[SigmaRule] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in files:
        rule = read_rule(path, root, crosswalk)
        if isinstance(rule, str) or rule.id in seen:
            skipped.append(
                (path.relative_to(root).as_posix(), rule if isinstance(rule, str) else "duplicate id")
            )
            continue
        seen.add(rule.id)
        rules.append(rule)
    usecases, left_out = compile_rules(rules, names, attack, killchain, kql)
    loaded = SigmaLoad(UseCaseLibrary(usecases), len(files), tuple(skipped), left_out, from_cache=False)
    if cache is not None:
        _write_cache(cache, loaded)
    return loaded


def _write_cache(path: Path, loaded: SigmaLoad) -> None:
    data = {
        "format": CACHE_FORMAT,
        "files": loaded.files,
        "skipped": [list(s) for s in loaded.skipped],
        "left_out": loaded.left_out,
        "usecases": [_usecase_dict(uc) for uc in loaded.library],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data, ensure_ascii=False))
    except OSError as exc:
        log.warning("could not cache the compiled Sigma rules at %s: %s", path, exc)


def _usecase_dict(uc: UseCase) -> dict[str, Any]:
    return {
        "id": uc.id,
        "title": uc.title,
        "description": uc.description,
        "techniques": list(uc.techniques),
        "phase": uc.phase,
        "confidence": uc.confidence.value,
        "confidence_rule": uc.confidence_rule,
        "data_sources": list(uc.data_sources),
        "false_positives": list(uc.false_positives),
        "queries": [list(q) for q in uc.queries],
        "attribution": uc.attribution,
    }


def _read_cache(path: Path) -> SigmaLoad | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != CACHE_FORMAT:
            return None
        usecases = [
            UseCase(
                id=d["id"],
                title=d["title"],
                description=d["description"],
                techniques=tuple(d["techniques"]),
                phase=d["phase"],
                confidence=Confidence(d["confidence"]),
                confidence_rule=d["confidence_rule"],
                data_sources=tuple(d["data_sources"]),
                false_positives=tuple(d["false_positives"]),
                queries=tuple((b, t) for b, t in d["queries"]),
                samples_match=(),
                samples_no_match=(),
                kind="sigma",
                attribution=d["attribution"],
            )
            for d in data["usecases"]
        ]
        skipped = tuple((p, r) for p, r in data["skipped"])
        return SigmaLoad(UseCaseLibrary(usecases), data["files"], skipped, data["left_out"], from_cache=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if path.exists():
            log.warning("ignoring the Sigma cache %s (%s); compiling again", path, exc)
        return None
