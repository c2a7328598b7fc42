"""The relevance model: features, sentence probabilities, article share; validation of the model file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from huntbrief.catalog.relevance import PACKAGED_PATH, RelevanceModel, load_relevance, parse_relevance
from huntbrief.errors import CatalogError
from huntbrief.model import Article
from huntbrief.stages.relevance import article_relevance, features, relevance_of, sentence_probability, tokens

MODEL = load_relevance()


def test_tokens_turn_indicators_and_numbers_into_shapes() -> None:
    sentence = (
        "It beacons to 203.0.113[.]7 and drops update.exe "
        "(CVE-2023-34362, 44d88612fea8a8f36de82e1278abb02f) 3 times."
    )
    assert tokens(sentence) == [
        "it", "beacons", "to", "xipx", "and", "drops", "xfilex", "xcvex", "xhashx", "0", "times",
    ]  # fmt: skip
    assert features("The loader runs")[-2:] == ["the loader", "loader runs"]


@pytest.mark.parametrize(
    "sentence",
    [
        "The malware establishes persistence by creating a scheduled task that runs the loader at logon.",
        "The threat actor used PowerShell to download a second-stage payload from the C2 server.",
        "Once executed, the backdoor collects system information and exfiltrates it over HTTPS.",
    ],
)
def test_activity_sentences_score_high(sentence: str) -> None:
    assert sentence_probability(sentence, MODEL) >= MODEL.sentence_threshold


@pytest.mark.parametrize(
    "sentence",
    [
        "Register now for our webinar to learn how our platform streamlines security operations.",
        "We are proud to be named a Leader in the Gartner Magic Quadrant for the third year running.",
        "The survey of 600 IT decision makers found that most plan to increase their security budgets.",
    ],
)
def test_marketing_sentences_score_low(sentence: str) -> None:
    assert sentence_probability(sentence, MODEL) < MODEL.sentence_threshold


def test_share_counts_only_sentences_long_enough_to_judge() -> None:
    article = Article(url=None, title="Hi", source="s", text="Short one. Also short.")
    assert article_relevance(article, MODEL).sentences == 0 and article_relevance(article, MODEL).share == 0.0
    toy = RelevanceModel({"loader": 5.0}, -1.0, 0.5)
    found = relevance_of(["the loader ran here just now", "nothing to see in this one"], toy)
    assert (found.share, found.activity, found.sentences) == (0.5, 1, 2)


def test_packaged_model_is_small_and_says_how_it_was_made() -> None:
    assert 1000 <= len(MODEL.weights) <= 20000
    assert PACKAGED_PATH.stat().st_size < 300_000
    assert MODEL.metadata["trained_by"] == "scripts/train_relevance.py" and "seed" in MODEL.metadata


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"version": 2}, "expected a JSON object with version 1"),
        ({"version": 1, "weights": {}, "bias": 0, "sentence_threshold": 0.5}, "weights must be a non-empty"),
        ({"version": 1, "weights": {"a": "x"}, "bias": 0, "sentence_threshold": 0.5}, "weights['a'] must be"),
        ({"version": 1, "weights": {"a": 1}, "bias": 0, "sentence_threshold": 1.5}, "between 0 and 1"),
        ({"version": 1, "weights": {"a": 1}, "sentence_threshold": 0.5}, "bias must be a finite number"),
    ],
)
def test_bad_model_files_are_catalog_errors(raw: object, message: str, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=re.escape(message)):
        parse_relevance(raw, "relevance.json")
    path = tmp_path / "relevance.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_relevance(path)
    assert caught.value.location == str(path)
