"""The learned sentence model for ATT&CK techniques: a sparse linear model over word n-grams.

`scripts/train_attack.py` writes it as `data/technique-model.bin.gz`; this module reads and checks it
with the standard library only (no numpy at run time). The file holds a JSON header (labels, biases,
thresholds, provenance) followed by little-endian arrays: the n-gram vocabulary, its IDF weights and,
per n-gram, the (label, weight) pairs that the training kept (a CSR matrix).
"""

from __future__ import annotations

import gzip
import json
import struct
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from huntbrief.catalog.attack import AttackCatalog
from huntbrief.errors import CatalogError

PACKAGED_NAME = "technique-model.bin.gz"
MAGIC = b"HBTM1\n"
_HEADER_KEYS = ("labels", "bias", "doc_threshold", "sentence_threshold", "features", "trained")


@dataclass(frozen=True, slots=True)
class TechniqueModel:
    """A one-vs-rest logistic model: score(label) = bias + sum(tf-idf(ngram) * weight(ngram, label)).

    `labels` are current ATT&CK IDs; `doc_threshold` is the probability at which a technique is
    reported for a document, `sentence_threshold` the one at which a sentence counts as evidence.
    """

    labels: tuple[str, ...]
    bias: tuple[float, ...]
    vocab: Mapping[str, int]
    idf: array[float]
    indptr: array[int]
    cols: array[int]
    weights: array[float]
    doc_threshold: float
    sentence_threshold: float
    features: Mapping[str, Any]
    trained: Mapping[str, Any]


def load_technique_model(catalog: AttackCatalog, path: Path | None = None) -> TechniqueModel:
    """Load the packaged model (path None) or a given file, labels resolved against `catalog`.

    Labels the catalogue no longer knows are dropped; revoked ones follow their replacement.
    Raises CatalogError naming the file when it is missing, truncated or inconsistent.
    """
    raw = _packaged_bytes() if path is None else _read(path)
    location = f"huntbrief/catalog/data/{PACKAGED_NAME}" if path is None else str(path)
    return resolved(model_from_bytes(raw, location), catalog)


@lru_cache(maxsize=1)
def _packaged_bytes() -> bytes:
    try:
        return resources.files("huntbrief.catalog").joinpath("data", PACKAGED_NAME).read_bytes()
    except OSError as exc:
        raise CatalogError(
            f"cannot read technique model: {exc}", f"huntbrief/catalog/data/{PACKAGED_NAME}"
        ) from exc


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read technique model: {exc}", location=str(path)) from exc


def model_from_bytes(data: bytes, location: str) -> TechniqueModel:
    """Parse a (gzip-compressed) model file's bytes and check that its parts agree; never reads files."""
    try:
        body = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        if not body.startswith(MAGIC):
            raise ValueError("not a huntbrief technique model (bad magic)")
        at = len(MAGIC)
        (size,) = struct.unpack_from("<I", body, at)
        header = json.loads(body[at + 4 : at + 4 + size].decode("utf-8"))
        return _build(header, body, at + 4 + size)
    except (OSError, EOFError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise CatalogError(f"invalid technique model: {exc}", location=location) from exc


def _build(header: dict[str, Any], body: bytes, at: int) -> TechniqueModel:
    missing = [k for k in _HEADER_KEYS if k not in header]
    if missing:
        raise ValueError(f"header lacks {missing}")
    labels, bias = [str(x) for x in header["labels"]], [float(x) for x in header["bias"]]
    if len(labels) != len(bias) or not labels:
        raise ValueError("labels and bias must be non-empty and of equal length")
    (vocab_bytes,) = struct.unpack_from("<I", body, at)
    words = body[at + 4 : at + 4 + vocab_bytes].decode("utf-8").split("\n")
    at += 4 + vocab_bytes
    idf, at = _array("f", body, at, len(words))
    indptr, at = _array("I", body, at, len(words) + 1)
    nnz = indptr[-1]
    cols, at = _array("H", body, at, nnz)
    weights, at = _array("f", body, at, nnz)
    if at != len(body):
        raise ValueError(f"{len(body) - at} trailing bytes")
    if any(c >= len(labels) for c in cols) or any(a > b for a, b in zip(indptr, indptr[1:], strict=False)):
        raise ValueError("weight matrix refers to unknown labels or is out of order")
    return TechniqueModel(
        labels=tuple(labels),
        bias=tuple(bias),
        vocab=MappingProxyType({w: i for i, w in enumerate(words)}),
        idf=idf,
        indptr=indptr,
        cols=cols,
        weights=weights,
        doc_threshold=_probability(header["doc_threshold"], "doc_threshold"),
        sentence_threshold=_probability(header["sentence_threshold"], "sentence_threshold"),
        features=MappingProxyType(dict(header["features"])),
        trained=MappingProxyType(dict(header["trained"])),
    )


def _array(code: str, body: bytes, at: int, count: int) -> tuple[array[Any], int]:
    values: array[Any] = array(code)
    end = at + values.itemsize * count
    if end > len(body):
        raise ValueError("file is truncated")
    values.frombytes(body[at:end])
    if sys.byteorder != "little":  # pragma: no cover - the file is little-endian
        values.byteswap()
    return values, end


def _probability(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise ValueError(f"{key} must be a probability strictly between 0 and 1")
    return float(value)


def resolved(model: TechniqueModel, catalog: AttackCatalog) -> TechniqueModel:
    """The model with labels mapped to `catalog`'s current IDs (unknown labels keep '' and never fire)."""
    labels = tuple(catalog.resolve(label) or "" for label in model.labels)
    if labels == model.labels:
        return model
    return TechniqueModel(
        labels, model.bias, model.vocab, model.idf, model.indptr, model.cols, model.weights,
        model.doc_threshold, model.sentence_threshold, model.features, model.trained,
    )  # fmt: skip


def render_model(
    header: Mapping[str, Any],
    vocab: Sequence[str],
    idf: Sequence[float],
    indptr: Sequence[int],
    cols: Sequence[int],
    weights: Sequence[float],
) -> bytes:
    """The gzip-compressed file bytes for a model (used by the training script); deterministic."""
    if any("\n" in word for word in vocab):
        raise ValueError("a vocabulary entry contains a newline")
    head = json.dumps(dict(header), sort_keys=True, separators=(",", ":")).encode("utf-8")
    words = "\n".join(vocab).encode("utf-8")
    parts = [MAGIC, struct.pack("<I", len(head)), head, struct.pack("<I", len(words)), words]
    for code, values in (("f", idf), ("I", indptr), ("H", cols), ("f", weights)):
        packed = array(code, values)
        if sys.byteorder != "little":  # pragma: no cover
            packed.byteswap()
        parts.append(packed.tobytes())
    return gzip.compress(b"".join(parts), compresslevel=9, mtime=0)
