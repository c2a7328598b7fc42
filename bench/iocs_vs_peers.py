"""IOC extraction side by side: huntbrief vs iocextract, ioc-finder and msticpy, on the same inputs.

Sets: our self-describing fixtures (tests/cases/iocs) and the gold-labelled articles in
../shared/data/articles. Prints per-type precision/recall/F1, must-not (forbidden) values emitted,
in-process throughput (MB/s of CPU time), and a whole-process run on ~10 MB of article text:
`huntbrief iocs FILE` against one-line iocextract / ioc-finder / msticpy processes.

Every extractor, huntbrief included, runs in its own persistent worker process and gets a wall-clock
deadline per input (--per-input-timeout): iocextract's e-mail regex backtracks catastrophically on some
adversarial fixtures. An input that misses its deadline (or raises) counts as no output for that
extractor, so its expected values are misses; the worker is then restarted. CPU time is taken inside
the worker (time.process_time around the one call) and only for inputs that finished.

    .venv/bin/python bench/iocs_vs_peers.py                 # everything
    .venv/bin/python bench/iocs_vs_peers.py --no-process    # skip the 10 MB processes
Peers (pip install -e '.[bench]'): iocextract==1.16.1, ioc-finder==9.4.1, msticpy==3.0.2. A peer that is
not installed is skipped, and the run says so.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.util
import ipaddress
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases" / "iocs"
ARTICLES = ROOT.parent / "shared" / "data" / "articles"
CORE = ("cve", "domain", "email", "ipv4", "ipv6", "md5", "sha1", "sha256", "sha512", "url")
EXTRA = ("cidr", "asn", "registry_key", "file_path", "file_name", "bitcoin", "monero", "ethereum")
Found = dict[str, set[str]]
Extractor = Callable[[str, str, str | None, str], Found]  # (text, html, article url, publisher)


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


# --- extractors (each imported lazily, inside its worker) --------------------------------------------


def huntbrief_extractor() -> Extractor:
    from huntbrief.catalog.noise import load_noise
    from huntbrief.model import Article
    from huntbrief.stages.iocs import find_indicators

    noise = load_noise()

    def run(text: str, html: str, url: str | None, source: str) -> Found:
        found: Found = {kind: set() for kind in CORE + EXTRA}
        article = Article(url=url, title="", source=source, text=text, html=html)
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

    def run(text: str, html: str, url: str | None, source: str) -> Found:
        blob = f"{text}\n{html}" if html else text
        return {kind: set(call(blob)) for kind, call in calls.items()}

    return run


IOCFINDER_KEYS = {
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


def iocfinder_extractor() -> Extractor:
    from ioc_finder import find_iocs

    def run(text: str, html: str, url: str | None, source: str) -> Found:
        blob = f"{text}\n{html}" if html else text
        result = find_iocs(blob)
        found: Found = {}
        for key, kind in IOCFINDER_KEYS.items():
            values = result.get(key) or []
            if isinstance(values, dict):
                values = [v for group in values.values() for v in group]
            found.setdefault(kind, set()).update(str(v) for v in values)
        return found

    return run


MSTICPY_KEYS = {
    "url": "url",
    "dns": "domain",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
    "email": "email",
    "md5_hash": "md5",
    "sha1_hash": "sha1",
    "sha256_hash": "sha256",
    "windows_path": "file_path",
    # "linux_path" is left out: msticpy documents it as noisy and off unless asked for, though
    # extract(src=...) scans for it anyway. Leaving it out can only help msticpy's scores.
}


def msticpy_extractor() -> Extractor:
    import tldextract
    import tldextract.tldextract as tld_module
    from msticpy.common.utility.format import refang_ioc
    from msticpy.transform.iocextract import IoCExtract

    # msticpy's domain check calls tldextract.extract(), whose default extractor first tries to download
    # the public-suffix list; use the bundled snapshot instead (as huntbrief does): offline, same data.
    tld_module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    extractor = IoCExtract()

    def run(text: str, html: str, url: str | None, source: str) -> Found:
        blob = f"{text}\n{html}" if html else text
        found: Found = {kind: set() for kind in MSTICPY_KEYS.values()}
        results = extractor.extract(src=blob) if blob.strip() else {}
        for key, values in results.items():
            if key in MSTICPY_KEYS:
                # extract() returns defanged matches as written; refang them with msticpy's own helper.
                found[MSTICPY_KEYS[key]].update(refang_ioc(v, key) for v in values)
        return found

    return run


EXTRACTORS: dict[str, Callable[[], Extractor]] = {
    "huntbrief": huntbrief_extractor,
    "iocextract": iocextract_extractor,
    "ioc-finder": iocfinder_extractor,
    "msticpy": msticpy_extractor,
}
MODULES = {
    "huntbrief": "huntbrief",
    "iocextract": "iocextract",
    "ioc-finder": "ioc_finder",
    "msticpy": "msticpy",
}


# --- workers: one persistent process per extractor, a deadline per input -----------------------------


def serve(name: str, conn: Connection) -> None:
    """Worker loop: build one extractor, then answer each job (text, html, url, source) with a result."""
    try:
        extract = EXTRACTORS[name]()
        supported = set(CORE + EXTRA) if name == "huntbrief" else set(extract("x", "", None, ""))
    except Exception as error:
        conn.send(("failed", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", supported))
    while (job := conn.recv()) is not None:
        started = time.process_time()
        try:
            found = extract(*job)
        except Exception as error:  # a peer that raises on one input has no output for it
            conn.send(("error", f"{type(error).__name__}: {error}", 0.0))
            continue
        conn.send(("ok", found, time.process_time() - started))


class Worker:
    """One extractor in a persistent subprocess, so that an input it gets stuck on can be cut off."""

    def __init__(self, name: str, startup_timeout: float = 300.0) -> None:
        self.name = name
        self.startup_timeout = startup_timeout
        self.supported: set[str] = set()
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(self.name, child), daemon=True)
        self.process.start()
        child.close()
        try:
            reply = self.conn.recv() if self.conn.poll(self.startup_timeout) else ("failed", "no answer")
        except EOFError:
            reply = ("failed", f"exited with {self.process.join(5) or self.process.exitcode}")
        if reply[0] != "ready":
            self.close()
            raise RuntimeError(f"{self.name} worker did not start: {reply[1]}")
        self.supported = reply[1]

    def run(self, job: tuple[str, str, str | None, str], timeout: float) -> tuple[str, Any, float]:
        """(status, found or reason, cpu seconds); status is ok, error or timeout."""
        try:
            self.conn.send(job)
            if self.conn.poll(timeout):
                return self.conn.recv()
            status, reason = "timeout", f"no answer in {timeout:g}s"
        except (EOFError, OSError) as error:
            status, reason = "error", f"worker died: {error!r}"
        self.process.kill()
        self.process.join()
        self._start()
        return status, reason, 0.0

    def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


# --- inputs and scoring ----------------------------------------------------------------------------


@dataclass
class Item:
    name: str
    text: str
    html: str = ""
    url: str | None = None
    source: str = ""  # publisher name (fixtures' `source:` header): its own domains are not IOCs
    expected: dict[str, set[str]] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)  # "kind value" or bare value
    optional: dict[str, set[str]] = field(default_factory=dict)
    exhaustive: tuple[str, ...] = ()

    @property
    def megabytes(self) -> float:
        return len((self.text + self.html).encode()) / 1e6


def fixture_item(path: Path) -> Item:
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
        elif key == "source":
            item.source = value
        elif key == "exhaustive" and value == "true":
            item.exhaustive = CORE + EXTRA
    return item


def fixture_items() -> list[Item]:
    return [fixture_item(path) for path in sorted(CASES.glob("*.txt"))]


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
    seconds: float = 0.0  # CPU seconds inside the worker, finished inputs only
    megabytes: float = 0.0  # size of the finished inputs
    timeouts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def prf(self, kinds: tuple[str, ...]) -> tuple[float, float, float]:
        tp = sum(self.tp[k] for k in kinds)
        fp = sum(self.fp[k] for k in kinds)
        fn = sum(self.fn[k] for k in kinds)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def tally(result: Score, item: Item, found: Found, supported: set[str]) -> None:
    """Add one input's outcome: matches, misses, false positives (exhaustive types) and must-nots."""
    got = {k: {match_key(k, v) for v in vs} for k, vs in found.items()}
    for kind in (set(item.expected) | set(item.exhaustive)) & supported:
        want = {match_key(kind, v) for v in item.expected.get(kind, ())}
        have = got.get(kind, set())
        result.tp[kind] += len(have & want)
        result.fn[kind] += len(want - have)
        if kind in item.exhaustive:
            optional = {match_key(kind, v) for v in item.optional.get(kind, ())}
            result.fp[kind] += len(have - want - optional)
    emitted = {f"{k} {v}" for k, vs in got.items() for v in vs} | {v for vs in got.values() for v in vs}
    result.forbidden += len(emitted & item.forbidden)


def score(worker: Worker, items: list[Item], timeout: float) -> Score:
    result = Score()
    for item in items:
        status, found, cpu = worker.run((item.text, item.html, item.url, item.source), timeout)
        if status == "ok":
            result.seconds += cpu
            result.megabytes += item.megabytes
        else:
            (result.timeouts if status == "timeout" else result.errors).append(f"{item.name} ({found})")
            found = {}
        tally(result, item, found, worker.supported)
    return result


# --- report -------------------------------------------------------------------------------------------

COLUMN = 26


def row(label: str, cells: list[str]) -> str:
    return f"{label:13}" + "".join(f"{cell:>{COLUMN}}" for cell in cells)


def prf_cell(s: Score, kinds: tuple[str, ...]) -> str:
    return "P{:.2f} R{:.2f} F1 {:.3f}".format(*s.prf(kinds))


def print_type_rows(scores: dict[str, Score], workers: dict[str, Worker]) -> None:
    kinds = [k for k in CORE + EXTRA if any(s.tp[k] + s.fn[k] + s.fp[k] for s in scores.values())]
    print(row("type", list(scores)))
    for kind in kinds:
        cells = [prf_cell(s, (kind,)) if kind in workers[n].supported else "n/a" for n, s in scores.items()]
        print(row(kind, cells))
    print(row("core overall", [prf_cell(s, CORE) for s in scores.values()]))


def print_run_rows(scores: dict[str, Score], timeout: float) -> None:
    print(row("must-not", [str(s.forbidden) for s in scores.values()]))
    print(row(f"timed out {timeout:g}s", [str(len(s.timeouts)) for s in scores.values()]))
    print(row("errors", [str(len(s.errors)) for s in scores.values()]))
    print(row("MB/s (cpu)", [f"{s.megabytes / max(s.seconds, 1e-9):.2f}" for s in scores.values()]))
    for name, s in scores.items():
        for what, names in (("timed out", s.timeouts), ("error", s.errors)):
            for entry in names:
                print(f"  {name} {what}: {entry}")


def report(set_name: str, items: list[Item], workers: dict[str, Worker], timeout: float) -> None:
    size = sum(item.megabytes for item in items)
    print(f"\n## {set_name}: {len(items)} inputs, {size:.2f} MB", flush=True)
    scores = {}
    for name, worker in workers.items():
        started = time.perf_counter()
        scores[name] = score(worker, items, timeout)
        print(f"  [{name}: {time.perf_counter() - started:.1f}s wall]", file=sys.stderr, flush=True)
    print_type_rows(scores, workers)
    print_run_rows(scores, timeout)
    print(
        "(timed-out or failing inputs count as no output: their expected values are misses. MB/s is CPU"
        " time, time.process_time() around the one call inside each worker, over finished inputs only.)",
        flush=True,
    )


# --- whole-process throughput ------------------------------------------------------------------------

ONE_LINERS = {
    "iocextract": (
        "import sys, itertools, iocextract as x; t = open(sys.argv[1], encoding='utf-8').read(); "
        "list(itertools.chain(x.extract_urls(t, refang=True), x.extract_ips(t, refang=True), "
        "x.extract_emails(t, refang=True), x.extract_hashes(t)))"
    ),
    "ioc-finder": (
        "import sys; from ioc_finder import find_iocs; find_iocs(open(sys.argv[1], encoding='utf-8').read())"
    ),
    "msticpy": (
        "import sys; from msticpy.transform.iocextract import IoCExtract; "
        "IoCExtract().extract(src=open(sys.argv[1], encoding='utf-8').read())"
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


def processes(megabytes: float, names: list[str], timeout: float, repeat: int = 1) -> None:
    path = big_file(megabytes)
    size = path.stat().st_size / 1e6
    runs = "one run each" if repeat == 1 else f"best of {repeat} runs each (least CPU time)"
    print(f"\n## whole process on {size:.1f} MB ({path}), {runs}, start-up and imports included")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    compile_bytecode()
    huntbrief = Path(sys.executable).with_name("huntbrief")
    commands = {"huntbrief": [str(huntbrief), "iocs", str(path), "--format", "text"]}
    commands.update({n: [sys.executable, "-c", ONE_LINERS[n], str(path)] for n in names if n in ONE_LINERS})
    results = {}
    for name, command in commands.items():
        wall, cpu, status = min(
            (timed(command, timeout) for _ in range(max(1, repeat))), key=lambda r: (r[2] != "ok", r[1])
        )
        results[name] = (wall, cpu, status)
        rate = f"{size / max(cpu, 1e-9):6.2f}" if status == "ok" else f"<{size / max(cpu, 1e-9):5.2f}"
        print(f"{name:12} wall {wall:7.1f}s  cpu {cpu:7.1f}s  {rate} MB/s (cpu)  {status}", flush=True)
    print_ratios(results)


def compile_bytecode() -> None:
    """Byte-compile the huntbrief package first, as `pip install` does for the peers' packages.

    An editable install run with PYTHONDONTWRITEBYTECODE set (as on this machine) would otherwise
    recompile every module from source in each run, which no installed tool does.
    """
    spec = importlib.util.find_spec("huntbrief")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)
    print("(huntbrief byte-compiled first, as pip does for an installed package)")


def print_ratios(results: dict[str, tuple[float, float, str]]) -> None:
    """huntbrief's speed-up over each peer; a peer that timed out gives a lower bound (">")."""
    base_wall, base_cpu, base_status = results.get("huntbrief", (0.0, 0.0, "missing"))
    if base_status != "ok":
        return
    for name, (wall, cpu, status) in results.items():
        if name != "huntbrief":
            bound = "" if status == "ok" else ">"
            note = "" if status == "ok" else f" ({name} {status})"
            ratios = f"{bound}{wall / base_wall:.1f}x (wall), {bound}{cpu / base_cpu:.1f}x (cpu)"
            print(f"huntbrief vs {name}: {ratios}{note}")


# --- main -------------------------------------------------------------------------------------------


def start_workers(names: list[str]) -> dict[str, Worker]:
    workers = {}
    for name in names:
        try:
            workers[name] = Worker(name)
        except RuntimeError as error:
            print(f"skipped: {error}")
    return workers


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process runs")
    parser.add_argument(
        "--process-only", action="store_true", help="only the whole-process runs (no per-input scoring)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="whole-process runs per extractor")
    parser.add_argument(
        "--only", default="", help="comma-separated extractors to run (default: all installed)"
    )
    parser.add_argument("--mb", type=float, default=10.0, help="size of the whole-process input")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per whole-process run")
    parser.add_argument(
        "--per-input-timeout", type=float, default=20.0, help="wall-clock seconds per extractor and input"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(EXTRACTORS)
    unknown = sorted(set(chosen) - set(EXTRACTORS))
    if unknown:
        raise SystemExit(f"unknown extractor {', '.join(unknown)}; known: {', '.join(EXTRACTORS)}")
    names = [n for n in chosen if importlib.util.find_spec(MODULES[n]) is not None]
    missing = sorted(set(chosen) - set(names))
    if missing:
        print(f"not installed (skipped): {', '.join(missing)}")
    if args.process_only:
        processes(args.mb, names, args.timeout, args.repeat)
        return
    workers = start_workers(names)
    try:
        report("fixtures (tests/cases/iocs)", fixture_items(), workers, args.per_input_timeout)
        if (ARTICLES / "iocs_gold.jsonl").is_file():
            report("gold articles (../shared/data/articles)", gold_items(), workers, args.per_input_timeout)
        else:
            print(f"\n(gold articles not found at {ARTICLES})")
    finally:
        for worker in workers.values():
            worker.close()
    if not args.no_process:
        processes(args.mb, list(workers), args.timeout, args.repeat)


if __name__ == "__main__":
    main()
