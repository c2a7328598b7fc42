"""The learned technique model's file format: round trip, scoring arithmetic, refusal of bad files."""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any

import pytest

from huntbrief.catalog.attack import AttackCatalog, load_attack_catalog
from huntbrief.catalog.technique_model import (
    MAGIC,
    PACKAGED_NAME,
    load_technique_model,
    model_from_bytes,
    render_model,
    resolved,
)
from huntbrief.errors import CatalogError
from huntbrief.stages.attack_model import sentence_features, sentence_probabilities

HEADER: dict[str, Any] = {
    "labels": ["T1543.003", "T1059"],
    "bias": [-2.0, -3.0],
    "doc_threshold": 0.5,
    "sentence_threshold": 0.3,
    "features": {"function": "test"},
    "trained": {"attack_version": "test"},
}


@pytest.fixture(scope="module")
def catalog() -> AttackCatalog:
    return load_attack_catalog()


def tiny_model_bytes(**header: Any) -> bytes:
    """Two weighted n-grams ("servic" -> T1543.003, "creat servic" -> both) and one unweighted ("the")."""
    return render_model(
        {**HEADER, **header},
        vocab=["servic", "creat servic", "the"],
        idf=[2.0, 3.0, 1.0],
        indptr=[0, 1, 3, 3],
        cols=[0, 0, 1],
        weights=[4.0, 2.0, 1.5],
    )


def test_features_are_stemmed_words_then_bigrams() -> None:
    assert sentence_features("It creates services, 42 times") == [
        "it", "creat", "servic", "0", "times",
        "it creat", "creat servic", "servic 0", "0 times",
    ]  # fmt: skip


def test_round_trip_and_scoring_follow_the_tfidf_arithmetic() -> None:
    model = model_from_bytes(tiny_model_bytes(), "tiny")
    assert model.labels == ("T1543.003", "T1059") and model.doc_threshold == 0.5
    probabilities = sentence_probabilities("the creates services", model, floor=0.001)
    # features: the, creat, servic, "the creat", "creat servic": known ones the(1), servic(2), creat servic(3)
    norm = math.sqrt(1.0 + 4.0 + 9.0)
    expected_service = -2.0 + 4.0 * 2.0 / norm + 2.0 * 3.0 / norm
    expected_parent = -3.0 + 1.5 * 3.0 / norm
    assert probabilities[0] == pytest.approx(1 / (1 + math.exp(-expected_service)), rel=1e-5)
    assert probabilities[1] == pytest.approx(1 / (1 + math.exp(-expected_parent)), rel=1e-5)
    assert sentence_probabilities("nothing known here", model) == {}
    assert 1 not in sentence_probabilities("the creates services", model, floor=0.5)


def test_rendering_is_deterministic() -> None:
    assert tiny_model_bytes() == tiny_model_bytes()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a model", "bad magic"),
        (gzip.decompress(tiny_model_bytes())[:-3], "truncated"),
        (gzip.decompress(tiny_model_bytes()) + b"xx", "trailing bytes"),
        (tiny_model_bytes(bias=[1.0]), "equal length"),
        (tiny_model_bytes(doc_threshold=1.5), "doc_threshold"),
        (tiny_model_bytes(labels=["T1"]), "equal length"),
        (MAGIC + b"\xff\xff", "invalid technique model"),
    ],
)
def test_bad_files_are_refused_with_their_location(data: bytes, message: str) -> None:
    with pytest.raises(CatalogError, match=message) as caught:
        model_from_bytes(data, "models/broken.bin.gz")
    assert caught.value.location == "models/broken.bin.gz"


def test_out_of_range_label_index_is_refused() -> None:
    data = render_model(HEADER, ["x"], [1.0], [0, 1], [7], [1.0])
    with pytest.raises(CatalogError, match="unknown labels"):
        model_from_bytes(data, "m")


def test_labels_follow_the_catalogue(catalog: AttackCatalog) -> None:
    revoked = next(old for old in catalog.revoked if catalog.resolve(old))
    model = model_from_bytes(tiny_model_bytes(labels=[revoked, "T9999"]), "m")
    assert resolved(model, catalog).labels == (catalog.resolve(revoked), "")


def test_missing_file_is_a_catalog_error(tmp_path: Path, catalog: AttackCatalog) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_technique_model(catalog, tmp_path / "absent.bin.gz")


def test_packaged_model_is_modest_and_consistent_with_the_catalogue(catalog: AttackCatalog) -> None:
    path = Path(__file__).resolve().parents[1] / "src" / "huntbrief" / "catalog" / "data" / PACKAGED_NAME
    assert path.stat().st_size < 15 * 1024 * 1024
    model = load_technique_model(catalog)
    assert len(model.labels) >= 200
    assert all(label in catalog.techniques for label in model.labels)
    assert 0 < model.sentence_threshold <= model.doc_threshold < 1
    assert model.trained["attack_version"] == catalog.version
