"""Convert an ATT&CK Enterprise STIX 2.x bundle into the compact catalogue dict.

Pure and deterministic: the same bundle always gives an equal dict. Used by
`scripts/build_attack.py` and by `load_attack_catalog` when handed a bundle file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_ENTITY_TYPES = {"intrusion-set": "groups", "malware": "software", "tool": "software"}


def compact_from_stix(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The compact catalogue (version, source, tactics, techniques, revoked, groups, software).

    Revoked and deprecated objects are dropped; descriptions are never copied.
    Raises KeyError/TypeError/ValueError on a bundle that lacks the expected shape.
    """
    if bundle.get("type") != "bundle":
        raise ValueError("not a STIX bundle (type != 'bundle')")
    objects = [o for o in bundle["objects"] if isinstance(o, dict)]
    live = [o for o in objects if not o.get("revoked") and not o.get("x_mitre_deprecated")]
    tactics = _tactics(live)
    order = {t["shortname"]: t["order"] for t in tactics}
    sources = _data_sources(objects)
    techniques = {}
    for obj in live:
        tid = _attack_id(obj)
        if obj.get("type") == "attack-pattern" and tid:
            techniques[tid] = _technique(obj, tid, order, sources.get(obj["id"], ()))
    entities: dict[str, dict[str, Any]] = {"groups": {}, "software": {}}
    for obj in live:
        kind, eid = _ENTITY_TYPES.get(obj.get("type", "")), _attack_id(obj)
        if kind and eid:
            entities[kind][eid] = _entity(obj, kind)
    return {
        "version": _version(bundle, objects),
        "source": _source(bundle),
        "tactics": tactics,
        "techniques": techniques,
        "revoked": _revoked(bundle, objects),
        "groups": entities["groups"],
        "software": entities["software"],
    }


def _attack_id(obj: Mapping[str, Any]) -> str | None:
    for ref in obj.get("external_references", ()):
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"])
    return None


def _tactics(live: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_ref = {o["id"]: o for o in live if o.get("type") == "x-mitre-tactic"}
    matrices = [o for o in live if o.get("type") == "x-mitre-matrix"]
    refs = [r for m in matrices for r in m.get("tactic_refs", ()) if r in by_ref]
    refs += sorted((r for r in by_ref if r not in refs), key=lambda r: _attack_id(by_ref[r]) or r)
    ordered = list(dict.fromkeys(refs))
    return [
        {
            "id": _attack_id(by_ref[ref]),
            "shortname": by_ref[ref]["x_mitre_shortname"],
            "name": by_ref[ref]["name"],
            "order": index,
        }
        for index, ref in enumerate(ordered, start=1)
    ]


def _technique(
    obj: Mapping[str, Any], tid: str, order: Mapping[str, int], sources: Iterable[str]
) -> dict[str, Any]:
    phases = {
        p["phase_name"]
        for p in obj.get("kill_chain_phases", ())
        if p.get("kill_chain_name") == "mitre-attack"
    }
    is_sub = bool(obj.get("x_mitre_is_subtechnique", "." in tid))
    return {
        "name": obj["name"],
        "tactics": sorted((p for p in phases if p in order), key=order.__getitem__),
        "platforms": sorted(set(obj.get("x_mitre_platforms", ()))),
        "data_sources": sorted(set(obj.get("x_mitre_data_sources", ())) | set(sources)),
        "parent": tid.split(".")[0] if is_sub else None,
        "is_subtechnique": is_sub,
    }


def _data_sources(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Older bundles: 'detects' relationships from data components to techniques, as 'Source: Component'."""
    by_id = {
        o["id"]: o for o in objects if o.get("type") in ("x-mitre-data-component", "x-mitre-data-source")
    }
    out: dict[str, set[str]] = {}
    for rel in objects:
        if rel.get("type") != "relationship" or rel.get("relationship_type") != "detects":
            continue
        component = by_id.get(rel.get("source_ref", ""))
        if component is None or rel.get("revoked") or rel.get("x_mitre_deprecated"):
            continue
        source = by_id.get(component.get("x_mitre_data_source_ref", ""))
        label = f"{source['name']}: {component['name']}" if source else component["name"]
        out.setdefault(rel["target_ref"], set()).add(label)
    return out


def _entity(obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
    name = obj["name"]
    raw = obj.get("aliases") or obj.get("x_mitre_aliases") or ()
    aliases = sorted({a for a in raw if isinstance(a, str) and a.strip() and a != name})
    entry: dict[str, Any] = {"name": name, "aliases": aliases}
    if kind == "software":
        entry["type"] = obj["type"]
    return entry


def _revoked(bundle: Mapping[str, Any], objects: list[dict[str, Any]]) -> dict[str, str]:
    lite = bundle.get("x_lite_revoked_map")
    if isinstance(lite, dict):
        return {str(k): str(v) for k, v in lite.items()}
    ids = {o["id"]: _attack_id(o) for o in objects if "id" in o}
    direct: dict[str, str] = {}
    for rel in objects:
        if rel.get("type") == "relationship" and rel.get("relationship_type") == "revoked-by":
            old, new = ids.get(rel.get("source_ref", "")), ids.get(rel.get("target_ref", ""))
            if old and new and old != new:
                direct[old] = new
    return {old: _follow(direct, old) for old in direct}


def _follow(direct: Mapping[str, str], start: str) -> str:
    seen, current = {start}, direct[start]
    while current in direct and current not in seen:
        seen.add(current)
        current = direct[current]
    return current


def _version(bundle: Mapping[str, Any], objects: list[dict[str, Any]]) -> str:
    meta = bundle.get("x_lite_meta")
    if isinstance(meta, dict) and meta.get("attack_version"):
        return str(meta["attack_version"])
    for obj in objects:
        if obj.get("type") == "x-mitre-collection" and obj.get("x_mitre_version"):
            return str(obj["x_mitre_version"])
    return "unknown"


def _source(bundle: Mapping[str, Any]) -> str:
    meta = bundle.get("x_lite_meta")
    if isinstance(meta, dict) and meta.get("commit"):
        return f"{meta.get('source', 'mitre/cti enterprise-attack')} @ {meta['commit']}"
    return f"STIX bundle {bundle.get('id', '(no id)')}"
