"""Read the ATT&CK training data in ../shared/data/attack-train into documents and sentence examples.

Used by `scripts/train_attack.py` and `bench/attack_eval.py`; never by the package at run time.
Documents (TRAM2 full reports, AnnoCTR reports) keep their sentences together so that evaluation
can hold out whole documents. Every label is normalised to a current ATT&CK ID: revoked IDs are
followed through the bundle's map, IDs unknown to the catalogue are dropped.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from huntbrief.catalog.attack import AttackCatalog, load_attack_catalog  # noqa: E402
from huntbrief.stages.text import split_sentences  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
_CITATION = re.compile(r"\(Citation:[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://attack\.mitre\.org/([a-z]+)/[^)]*)\)")
_MASK = {"software": "the malware", "groups": "the actor", "campaigns": "the campaign"}
_ENTITY_WORD = {
    "intrusion-set": "the actor",
    "malware": "the malware",
    "tool": "the tool",
    "campaign": "the campaign",
}


@dataclass(frozen=True, slots=True)
class Example:
    """One training sentence and its technique labels (empty for a negative)."""

    text: str
    labels: frozenset[str]
    source: str


@dataclass(slots=True)
class Document:
    """A whole report: its text, gold technique set, and labelled sentences."""

    name: str
    dataset: str  # "tram" | "annoctr"
    text: str
    gold: frozenset[str]
    sentences: list[Example] = field(default_factory=list)
    extra: list[Example] = field(default_factory=list)  # TRAM2 single-label sentences of this report


@dataclass(slots=True)
class Corpus:
    """Everything in the train split: documents plus sentences that belong to no held-out report."""

    documents: list[Document]
    general: list[Example]
    tram_labels: frozenset[str]
    annoctr_labels: frozenset[str]


def _norm_title(title: str) -> str:
    return re.sub(r"[^a-z0-9]", "", title.lower())


def label_mapper(catalog: AttackCatalog) -> Callable[[str], str | None]:
    """A function from a raw label (any case, maybe revoked or with '/') to a current ID, or None."""
    return lambda raw: catalog.resolve(raw.strip().replace("/", "."))


def load_corpus(data: Path = DEFAULT_DATA, with_procedures: bool = True) -> Corpus:
    """Load the whole train split; procedure examples come from the ATT&CK bundle in data/attack."""
    catalog = load_attack_catalog()
    resolve = label_mapper(catalog)
    root = data / "attack-train"
    tram_docs, tram_labels = _tram_documents(root / "tram", resolve)
    anno_docs = _annoctr_documents(root / "annoctr", resolve)
    general = [*_bootstrap(root / "tram", resolve), *_negatives(root / "tram")]
    if with_procedures:
        general.extend(procedure_examples(data / "attack" / "enterprise-attack-lite.json", resolve))
    anno_labels = frozenset(label for doc in anno_docs for label in doc.gold)
    return Corpus([*tram_docs, *anno_docs], general, tram_labels, anno_labels)


def _tram_documents(
    root: Path, resolve: Callable[[str], str | None]
) -> tuple[list[Document], frozenset[str]]:
    single = json.loads((root / "single_label.train.json").read_text(encoding="utf-8"))
    by_title: dict[str, list[Example]] = {}
    for row in single:
        label = resolve(row["label"])
        if label:
            by_title.setdefault(_norm_title(row["doc_title"]), []).append(
                Example(row["text"], frozenset({label}), "tram-single")
            )
    label_set = frozenset(e for rows in by_title.values() for x in rows for e in x.labels)
    docs = []
    for path in sorted((root / "mjson_files").glob("*.mjson")):
        doc = _mjson_document(path, resolve)
        doc.extra = by_title.get(_norm_title(path.stem), [])
        docs.append(doc)
    return docs, label_set


def _mjson_document(path: Path, resolve: Callable[[str], str | None]) -> Document:
    raw = json.loads(path.read_text(encoding="utf-8"))
    signal: str = raw["signal"]
    asets = raw["asets"] if isinstance(raw["asets"], list) else ast.literal_eval(raw["asets"])
    spans: list[tuple[int, int, str]] = []
    for aset in asets:
        found = re.search(r"\((T\d{4}(?:\.\d{3})?)\)\s*$", aset["type"])
        label = resolve(found.group(1)) if found else None
        if label:
            spans.extend((int(a[0]), int(a[1]), label) for a in aset["annots"])
    sentences = list(labelled_sentences(signal, spans, "tram-doc"))
    return Document(path.stem, "tram", signal, frozenset(s[2] for s in spans), sentences)


def labelled_sentences(text: str, spans: Iterable[tuple[int, int, str]], source: str) -> Iterator[Example]:
    """The text's sentences (as the stage splits them) with the labels of the spans they overlap."""
    offsets: list[int] = []
    pieces: list[str] = []
    for at, char in enumerate(text):
        if char.isspace():
            if pieces and pieces[-1] != " ":
                pieces.append(" ")
                offsets.append(at)
            continue
        pieces.append(char)
        offsets.append(at)
    flat = "".join(pieces)
    cursor = 0
    starts: list[tuple[int, int, str]] = []
    for sentence in split_sentences(text):
        norm = " ".join(sentence.split())
        at = flat.find(norm, cursor)
        if at == -1:
            continue
        cursor = at + len(norm)
        starts.append((offsets[at], offsets[cursor - 1] + 1, norm))
    bounds = [s[0] for s in starts]
    labels: list[set[str]] = [set() for _ in starts]
    for start, end, label in spans:
        first = max(bisect_right(bounds, start) - 1, 0)
        for index in range(first, len(starts)):
            s_start, s_end, _ = starts[index]
            if s_start >= end:
                break
            overlap = min(end, s_end) - max(start, s_start)
            if overlap >= min(15, end - start):
                labels[index].add(label)
    for (_, _, norm), found in zip(starts, labels, strict=True):
        yield Example(norm, frozenset(found), source)


def _annoctr_documents(root: Path, resolve: Callable[[str], str | None]) -> list[Document]:
    docs = []
    for path in sorted((root / "text").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        mentions = root / "linking_mitre_only" / f"{path.stem}.json"
        spans: list[tuple[int, int, str]] = []
        rows = [
            json.loads(line) for line in mentions.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        for row in rows:
            if row.get("entity_type") != "TECHNIQUE":
                continue
            label = resolve(row["label_link"].split("/techniques/")[-1])
            if not label:
                continue
            context = row["_context_left"] + row["mention"] + row["_context_right"]
            at = text.find(context)
            if at == -1:
                at = text.find(row["mention"])
                length = len(row["mention"])
            else:
                at, length = at + len(row["_context_left"]), len(row["mention"])
            if at != -1:
                spans.append((at, at + length, label))
        gold = frozenset(s[2] for s in spans)
        docs.append(
            Document(path.stem, "annoctr", text, gold, list(labelled_sentences(text, spans, "annoctr")))
        )
    return docs


def _bootstrap(root: Path, resolve: Callable[[str], str | None]) -> Iterator[Example]:
    data = json.loads((root / "bootstrap-training-data.json").read_text(encoding="utf-8"))
    for row in data["sentences"]:
        labels = frozenset(x for m in row["mappings"] if (x := resolve(m["attack_id"])))
        if labels and row.get("disposition", "accept") == "accept":
            yield Example(row["text"], labels, "bootstrap")


def _negatives(root: Path) -> Iterator[Example]:
    for text in json.loads((root / "negative_data.json").read_text(encoding="utf-8")):
        if isinstance(text, str) and len(text.split()) >= 3:
            yield Example(text, frozenset(), "negative")


def procedure_examples(bundle_path: Path, resolve: Callable[[str], str | None]) -> Iterator[Example]:
    """ATT&CK procedure examples (`uses` relationship descriptions) with actor and software names masked."""
    bundle: dict[str, Any] = json.loads(bundle_path.read_text(encoding="utf-8"))
    objects = [o for o in bundle["objects"] if isinstance(o, dict)]
    by_id = {o["id"]: o for o in objects if "id" in o}
    for rel in objects:
        if rel.get("type") != "relationship" or rel.get("relationship_type") != "uses":
            continue
        target, source = by_id.get(rel.get("target_ref", "")), by_id.get(rel.get("source_ref", ""))
        if not target or target.get("type") != "attack-pattern" or not source or not rel.get("description"):
            continue
        ext = next(
            (
                r["external_id"]
                for r in target.get("external_references", ())
                if r.get("source_name") == "mitre-attack"
            ),
            None,
        )
        label = resolve(ext) if ext else None
        if label:
            yield Example(_masked(rel["description"], source), frozenset({label}), "procedure")


def _masked(description: str, source: dict[str, Any]) -> str:
    text = _CITATION.sub("", description)
    text = _LINK.sub(lambda m: _MASK.get(m.group(3), m.group(1)), text)
    word = _ENTITY_WORD.get(source.get("type", ""), "the actor")
    names = {source.get("name", ""), *(source.get("aliases") or ()), *(source.get("x_mitre_aliases") or ())}
    for name in sorted((n for n in names if isinstance(n, str) and len(n) >= 3), key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", word, text)
    return " ".join(text.split())
