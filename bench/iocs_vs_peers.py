"""IOC extraction side by side: huntbrief vs iocextract vs ioc-finder, on the same inputs, in one run.

Sets: our self-describing fixtures (tests/cases/iocs) and the gold-labelled articles in
../shared/data/articles. Prints per-type precision/recall/F1, must-not (forbidden) values emitted,
in-process throughput (MB/s of CPU time), and a whole-process run on ~10 MB of article text:
`huntbrief iocs FILE` against one-line iocextract / ioc-finder processes.

    /tmp/venv/bin/python bench/iocs_vs_peers.py                 # everything
    /tmp/venv/bin/python bench/iocs_vs_peers.py --no-process    # skip the 10 MB processes
Peers (pip): iocextract==1.16.1, ioc-finder==9.4.1. msticpy is not run (see the README figures note).
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases" / "iocs"
ARTICLES = ROOT.parent / "shared" / "data" / "articles"
CORE = ("cve", "domain", "email", "ipv4", "ipv6", "md5", "sha1", "sha256", "sha512", "url")
EXTRA = ("cidr", "asn", "registry_key", "file_path", "file_name", "bitcoin", "monero", "ethereum")
Found = dict[str, set[str]]
Extractor = Callable[[str, str, str | None], Found]


def match_key(kind: str, value: str) -> str:
    """Comparison key: URLs without scheme, host lower-cased, one trailing slash dropped; IPv6 canonical."""
    if kind == "ipv6":
        try:
            return str(ipaddress.IPv6Address(value))
        except ValueError:
            return value.lower()
    if kind == "registry_key":
        low = value.lower()
        for long, short in (("hkey_local_machine", "hklm"), ("hkey_current_user", "hkcu")):
            low = low.replace(long, short, 1) if low.startswith(long) else low
        return low
    if kind != "url":
        return value.lower()
    rest = value.split("://", 1)[1] if "://" in value else value
    cut = min((i for i in (rest.find(c) for c in "/?#") if i != -1), default=len(rest))
    key = rest[:cut].lower() + rest[cut:]
    return key[:-1] if key.endswith("/") else key


# --- extractors --------------------------------------------------------------------------------------


def huntbrief_extractor() -> Extractor:
    from huntbrief.catalog.noise import load_noise
    from huntbrief.model import Article
    from huntbrief.stages.iocs import find_indicators

    noise = load_noise()

    def run(text: str, html: str, url: str | None) -> Found:
        found: Found = {}
        article = Article(url=url, title="", source="", text=text, html=html)
        for indicator in find_indicators(article, noise).indicators:
            found.setdefault(indicator.kind.value, set()).add(indicator.value)
        return found

    return run


def iocextract_extractor() -> Extractor:
    import iocextract

    calls = {
        "url": lambda t: iocextract.extract_urls(t, refang=True),
        "ipv4": lambda t: iocextract.extract_ipv4s(t, refang=True),
        "ipv6": iocextract.extract_ipv6s,
        "email": lambda t: iocextract.extract_emails(t, refang=True),
        "md5": iocextract.extract_md5_hashes,
        "sha1": iocextract.extract_sha1_hashes,
        "sha256": iocextract.extract_sha256_hashes,
        "sha512": iocextract.extract_sha512_hashes,
    }

    def run(text: str, html: str, url: str | None) -> Found:
        blob = f"{text}\n{html}" if html else text
        return {kind: set(call(blob)) for kind, call in calls.items()}

    return run


def iocfinder_extractor() -> Extractor:
    from ioc_finder import find_iocs

    keys = {
        "urls": "url",
        "domains": "domain",
        "ipv4s": "ipv4",
        "ipv6s": "ipv6",
        "email_addresses": "email",
        "md5s": "md5",
        "sha1s": "sha1",
        "sha256s": "sha256",
        "sha512s": "sha512",
        "cves": "cve",
        "asns": "asn",
        "ipv4_cidrs": "cidr",
        "registry_key_paths": "registry_key",
        "file_paths": "file_path",
        "bitcoin_addresses": "bitcoin",
        "monero_addresses": "monero",
        "ethereum_addresses": "ethereum",
    }

    def run(text: str, html: str, url: str | None) -> Found:
        blob = f"{text}\n{html}" if html else text
        result = find_iocs(blob)
        found: Found = {}
        for key, kind in keys.items():
            values = result.get(key) or []
            if isinstance(values, dict):
                values = [v for group in values.values() for v in group]
            found.setdefault(kind, set()).update(str(v) for v in values)
        return found

    return run


EXTRACTORS: dict[str, Callable[[], Extractor]] = {
    "huntbrief": huntbrief_extractor,
    "iocextract": iocextract_extractor,
    "ioc-finder": iocfinder_extractor,
}
MODULES = {"huntbrief": "huntbrief", "iocextract": "iocextract", "ioc-finder": "ioc_finder"}


# --- inputs and scoring ----------------------------------------------------------------------------


@dataclass
class Item:
    name: str
    text: str
    html: str = ""
    url: str | None = None
    expected: dict[str, set[str]] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)  # "kind value" or bare value
    optional: dict[str, set[str]] = field(default_factory=dict)
    exhaustive: tuple[str, ...] = ()


def fixture_items() -> list[Item]:
    items = []
    for path in sorted(CASES.glob("*.txt")):
        header, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        text, _, html = body.partition("\n=== html ===\n")
        item = Item(path.stem, text, html)
        for line in header.split("\n"):
            key, _, value = line[2:].partition(": ")
            if key == "expect":
                kind, _, rest = value.partition(" ")
                head, _, tail = rest.rpartition(" ")
                item.expected.setdefault(kind, set()).add(head if tail in ("high", "medium") else rest)
            elif key == "forbid":
                item.forbidden.add(value.lower())
            elif key == "url":
                item.url = value
            elif key == "exhaustive" and value == "true":
                item.exhaustive = CORE + EXTRA
        items.append(item)
    return items


def gold_items() -> list[Item]:
    manifest = {}
    for line in (ARTICLES / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        manifest[row["id"]] = row
    items = []
    for line in (ARTICLES / "iocs_gold.jsonl").read_text(encoding="utf-8").splitlines():
        gold = json.loads(line)
        meta = manifest.get(gold["id"], {})
        text = (ARTICLES / meta.get("file", gold["id"] + ".txt")).read_text(encoding="utf-8")
        must_not = {f"{k} {match_key(k, v)}" for k, vs in gold.get("must_not", {}).items() for v in vs}
        items.append(
            Item(
                gold["id"],
                text,
                url=meta.get("url"),
                expected={k: set(v) for k, v in gold.get("expected", {}).items()},
                forbidden=must_not,
                optional={k: set(v) for k, v in gold.get("optional", {}).items()},
                exhaustive=tuple(gold.get("exhaustive_types", CORE)),
            )
        )
    return items


@dataclass
class Score:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    forbidden: int = 0
    seconds: float = 0.0
    megabytes: float = 0.0

    def prf(self, kinds: tuple[str, ...]) -> tuple[float, float, float]:
        tp = sum(self.tp[k] for k in kinds)
        fp = sum(self.fp[k] for k in kinds)
        fn = sum(self.fn[k] for k in kinds)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(extract: Extractor, items: list[Item], supported: set[str]) -> Score:
    result = Score()
    for item in items:
        started = time.process_time()
        found = extract(item.text, item.html, item.url)
        result.seconds += time.process_time() - started
        result.megabytes += len((item.text + item.html).encode()) / 1e6
        got = {k: {match_key(k, v) for v in vs} for k, vs in found.items()}
        for kind in set(item.expected) | set(item.exhaustive):
            if kind not in supported:
                continue
            want = {match_key(kind, v) for v in item.expected.get(kind, ())}
            have = got.get(kind, set())
            result.tp[kind] += len(have & want)
            result.fn[kind] += len(want - have)
            if kind in item.exhaustive:
                optional = {match_key(kind, v) for v in item.optional.get(kind, ())}
                result.fp[kind] += len(have - want - optional)
        emitted = {f"{k} {v}" for k, vs in got.items() for v in vs} | {v for vs in got.values() for v in vs}
        result.forbidden += len(emitted & item.forbidden)
    return result


def supported_kinds(name: str, extract: Extractor) -> set[str]:
    probe = extract("x", "", None)
    return set(probe) if name != "huntbrief" else set(CORE + EXTRA)


def report(set_name: str, items: list[Item], extractors: dict[str, Extractor]) -> None:
    print(
        f"\n## {set_name}: {len(items)} inputs, {sum(len(i.text) + len(i.html) for i in items) / 1e6:.2f} MB"
    )
    scores = {name: score(ex, items, supported_kinds(name, ex)) for name, ex in extractors.items()}
    kinds = [k for k in CORE + EXTRA if any(s.tp[k] + s.fn[k] + s.fp[k] for s in scores.values())]
    print(f"{'type':13}" + "".join(f"{name:>26}" for name in scores))
    for kind in kinds:
        cells = []
        for name, s in scores.items():
            if kind not in supported_kinds(name, extractors[name]):
                cells.append(f"{'n/a':>26}")
                continue
            p, r, f1 = s.prf((kind,))
            cells.append(f"{f'P{p:.2f} R{r:.2f} F1 {f1:.3f}':>26}")
        print(f"{kind:13}" + "".join(cells))
    print(
        f"{'core overall':13}"
        + "".join(f"{'P{:.2f} R{:.2f} F1 {:.3f}'.format(*s.prf(CORE)):>26}" for s in scores.values())
    )
    print(f"{'must-not':13}" + "".join(f"{s.forbidden:>26}" for s in scores.values()))
    print(
        f"{'MB/s (cpu)':13}"
        + "".join(f"{s.megabytes / max(s.seconds, 1e-9):>26.2f}" for s in scores.values())
    )


# --- whole-process throughput ------------------------------------------------------------------------

ONE_LINERS = {
    "ioc-finder": (
        "import sys; from ioc_finder import find_iocs; find_iocs(open(sys.argv[1], encoding='utf-8').read())"
    ),
    "iocextract": (
        "import sys, iocextract; t = open(sys.argv[1], encoding='utf-8').read(); "
        "list(iocextract.extract_iocs(t, refang=True))"
    ),
}


def big_file(megabytes: float) -> Path:
    texts = [p.read_text(encoding="utf-8") for p in sorted(ARTICLES.glob("*.txt"))] or [
        p.read_text(encoding="utf-8") for p in sorted(CASES.glob("*.txt"))
    ]
    blob = "\n\n".join(texts)
    target = int(megabytes * 1e6)
    data = (blob * (target // len(blob.encode()) + 1)).encode()[:target].decode("utf-8", "ignore")
    path = Path(tempfile.gettempdir()) / f"huntbrief-bench-{megabytes:g}mb.txt"
    path.write_text(data, encoding="utf-8")
    return path


def timed(command: list[str], timeout: float) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    except subprocess.TimeoutExpired:
        status = f"timed out after {timeout:.0f}s"
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), status


def processes(megabytes: float, names: list[str], timeout: float) -> None:
    path = big_file(megabytes)
    size = path.stat().st_size / 1e6
    print(f"\n## whole process on {size:.1f} MB ({path})")
    huntbrief = Path(sys.executable).with_name("huntbrief")
    commands = {"huntbrief": [str(huntbrief), "iocs", str(path), "--format", "text"]}
    commands.update({n: [sys.executable, "-c", ONE_LINERS[n], str(path)] for n in names if n in ONE_LINERS})
    results = {}
    for name, command in commands.items():
        wall, cpu, status = timed(command, timeout)
        results[name] = cpu
        print(f"{name:12} wall {wall:7.1f}s  cpu {cpu:7.1f}s  {size / cpu:6.2f} MB/s (cpu)  {status}")
    if "ioc-finder" in results:
        print(f"huntbrief vs ioc-finder (cpu): {results['ioc-finder'] / results['huntbrief']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process runs")
    parser.add_argument("--mb", type=float, default=10.0, help="size of the whole-process input")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per whole-process run")
    args = parser.parse_args()
    names = [n for n in EXTRACTORS if importlib.util.find_spec(MODULES[n]) is not None]
    missing = sorted(set(EXTRACTORS) - set(names))
    if missing:
        print(f"not installed (skipped): {', '.join(missing)}")
    extractors = {name: EXTRACTORS[name]() for name in names}
    report("fixtures (tests/cases/iocs)", fixture_items(), extractors)
    if (ARTICLES / "iocs_gold.jsonl").is_file():
        report("gold articles (../shared/data/articles)", gold_items(), extractors)
    else:
        print(f"\n(gold articles not found at {ARTICLES})")
    if not args.no_process:
        processes(args.mb, names, args.timeout)


if __name__ == "__main__":
    main()
