"""Hunt-library coverage per backend, next to SigmaHQ and Splunk ESCU, weighted by report frequency.

Usage: python bench/hunt_coverage.py [SHARED_DATA_DIR]   (default ../shared/data)
Prints: use cases and distinct techniques per backend; how many of the techniques most reported in
the labelled corpora (articles manifest + attack-train TRAM/AnnoCTR) we cover, exactly or through a
parent/sub-technique; SigmaHQ's tagged techniques from sigma/sigma_index.json; Splunk ESCU quoted;
and what the SigmaHQ rules give per backend once converted and validated (`--sigma-rules`).
"""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

from huntbrief.adapters.siem import BACKENDS, packaged_usecases

ESCU_TECHNIQUES = "about 300 (Splunk ESCU, quoted from its public detection index; not measured here)"


def report_frequency(data: Path) -> collections.Counter[str]:
    """In how many labelled reports each technique appears (articles + attack-train)."""
    counts: collections.Counter[str] = collections.Counter()
    for line in (data / "articles" / "manifest.jsonl").read_text().splitlines():
        counts.update(set(json.loads(line)["labels"].get("attack_techniques", [])))
    for path in (data / "attack-train" / "tram" / "mjson_files").glob("*.mjson"):
        sets = json.loads(path.read_text())["asets"]
        counts.update(
            {
                m.group(1)
                for a in sets
                if a.get("annots") and (m := re.search(r"(T\d{4}(?:\.\d{3})?)\)?\s*$", a["type"]))
            }
        )
    for path in (data / "attack-train" / "annoctr" / "linking_mitre_only").glob("*.json"):
        ids = set()
        for line in filter(None, (raw.strip() for raw in path.read_text().splitlines())):
            row = json.loads(line)
            if row.get("entity_type") == "TECHNIQUE" and (
                m := re.search(r"techniques/(T\d{4})(?:/(\d{3}))?", row.get("label_link", ""))
            ):
                ids.add(m.group(1) + (f".{m.group(2)}" if m.group(2) else ""))
        counts.update(ids)
    return counts


def covered(technique: str, ours: set[str]) -> bool:
    """Exact, or our use case is tagged with its parent, or (for a parent) with one of its sub-techniques."""
    parent = technique.split(".")[0]
    return technique in ours or parent in ours or any(t.startswith(technique + ".") for t in ours)


def sigmahq_techniques(data: Path) -> set[str]:
    index = json.loads((data / "sigma" / "sigma_index.json").read_text())
    return {t for rule in index["rules"] for t in rule.get("attack_techniques", [])}


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"
    library = packaged_usecases(tuple(BACKENDS))
    freq = report_frequency(data)
    top = [t for t, _ in freq.most_common(100)]
    tagged = {t for uc in library for t in uc.techniques}
    print(f"use cases: {len(library)}; distinct techniques tagged: {len(tagged)}")
    print(
        f"{'backend':14} {'use cases':>9} {'techniques':>10} {'top-50 reported':>16} {'top-100 reported':>17}"
    )
    for name in BACKENDS:
        usecases = [uc for uc in library if uc.query(name)]
        ours = {t for uc in usecases for t in uc.techniques}
        hit50 = sum(covered(t, ours) for t in top[:50])
        hit100 = sum(covered(t, ours) for t in top)
        print(f"{name:14} {len(usecases):9} {len(ours):10} {hit50:13}/50 {hit100:13}/100")
    sigma = sigmahq_techniques(data)
    print(f"{'SigmaHQ':14} {'-':>9} {len(sigma):10} {sum(covered(t, sigma) for t in top[:50]):13}/50 "
          f"{sum(covered(t, sigma) for t in top):13}/100   (rules tagged, all log sources)")  # fmt: skip
    print(f"{'Splunk ESCU':14} {'-':>9} {ESCU_TECHNIQUES}")
    missing = [t for t in top[:50] if not covered(t, {t for uc in library for t in uc.techniques})]
    print(f"top-50 reported techniques without a use case: {', '.join(missing) or 'none'}")
    if (data / "sigma" / "rules").is_dir():
        sigma_hunts(data / "sigma", top)


def sigma_hunts(folder: Path, top: list[str]) -> None:
    """What `--sigma-rules` adds: SigmaHQ rules converted by our backends AND passing every check."""
    from huntbrief.context import default_cache_dir, sigma_library

    library = sigma_library(folder.resolve(), tuple(BACKENDS), default_cache_dir() / "sigma")
    print(f"\nwith --sigma-rules {folder}: {len(library)} rules usable (converted and validated)")
    for name in BACKENDS:
        usable = [uc for uc in library if uc.query(name)]
        theirs = {t for uc in usable for t in uc.techniques}
        hit50 = sum(covered(t, theirs) for t in top[:50])
        hit100 = sum(covered(t, theirs) for t in top)
        print(f"{'sigma ' + name:14} {len(usable):9} {len(theirs):10} {hit50:13}/50 {hit100:13}/100")


if __name__ == "__main__":
    main()
