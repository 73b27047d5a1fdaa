"""Fine-tuning loop for text classification: reads top to bottom, resumable, cancellable within one step."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.evaluation import classification_metrics
from training.registry import BaseModelSpec, load_classifier

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one fine-tuning run; stored with the job and the checkpoint."""

    epochs: int = 3  # passes over the training rows
    learning_rate: float = 5e-5  # AdamW peak learning rate (linear decay to 0)
    batch_size: int = 16  # rows per optimiser step
    max_length: int = 128  # tokens per text; longer texts are truncated
    seed: int = 0  # python, numpy and torch seeds, and the data order
    checkpoint_every: int = 50  # optimiser steps between checkpoints (resume after a killed worker)
    weight_decay: float = 0.01  # AdamW weight decay


@dataclass
class TrainResult:
    steps: int  # optimiser steps taken in total (including before a resume)
    losses: list[float] = field(default_factory=list)  # training loss per step
    metrics: dict[str, Any] = field(default_factory=dict)  # evaluation on held-out real rows
    tokens_per_s: float = 0.0  # non-padding tokens processed per second of training
    labels: list[str] = field(default_factory=list)  # index -> label


class Cancelled(Exception):
    pass


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_text_classifier(
    spec: BaseModelSpec,
    texts: list[str],
    labels: list[str],
    eval_texts: list[str],
    eval_labels: list[str],
    output_dir: Path,
    config: TrainConfig,
    *,
    event: Callable[[dict[str, Any]], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> TrainResult:
    """Fine-tune `spec` on (texts, labels); evaluate on the held-out real rows; save to `output_dir`."""
    event = event or (lambda payload: None)
    should_cancel = should_cancel or (lambda: False)
    output_dir.mkdir(parents=True, exist_ok=True)
    label_names = sorted(set(labels) | set(eval_labels))
    label_ids = {name: index for index, name in enumerate(label_names)}

    _seed(config.seed)
    tokenizer, model, device = _setup_model(spec, len(label_names), config)
    batches = _setup_data(tokenizer, texts, [label_ids[x] for x in labels], config)
    total_steps = len(batches) * config.epochs
    optimizer, scheduler = _setup_optimizer(model, config, total_steps)
    step, losses = _load_checkpoint(output_dir, model, optimizer, scheduler)

    model.train()
    started, tokens = time.monotonic(), 0
    while step < total_steps:
        if should_cancel():
            _save_checkpoint(output_dir, model, optimizer, scheduler, step, losses, config)
            raise Cancelled()
        # The batch order of each epoch is a function of the seed and epoch only, so a resumed run sees the same
        # batches in the same order as an uninterrupted one.
        epoch, index = divmod(step, len(batches))
        order = np.random.default_rng(config.seed + epoch).permutation(len(batches))
        batch = {key: value.to(device) for key, value in batches[order[index]].items()}
        loss = _loss_step(model, batch, optimizer, scheduler)
        losses.append(loss)
        tokens += int(batch["attention_mask"].sum())
        step += 1
        elapsed = time.monotonic() - started
        rate = tokens / elapsed if elapsed else 0.0
        event(
            {
                "step": step,
                "total_steps": total_steps,
                "loss": round(loss, 5),
                "epoch": epoch,
                "tokens_per_s": round(rate, 1),
                "eta_s": round(elapsed / max(step, 1) * (total_steps - step), 1),
            }
        )
        if step % config.checkpoint_every == 0:
            _save_checkpoint(output_dir, model, optimizer, scheduler, step, losses, config)

    metrics = evaluate_classifier(
        model, tokenizer, eval_texts, [label_ids.get(x, -1) for x in eval_labels], config, label_names
    )
    model.save_pretrained(output_dir / "model")
    tokenizer.save_pretrained(output_dir / "model")
    (output_dir / "labels.json").write_text(json.dumps(label_names))
    (output_dir / CHECKPOINT).unlink(missing_ok=True)
    elapsed = time.monotonic() - started
    return TrainResult(step, losses, metrics, round(tokens / elapsed, 1) if elapsed else 0.0, label_names)


def _setup_model(spec: BaseModelSpec, num_labels: int, config: TrainConfig):
    tokenizer, model = load_classifier(spec, num_labels, seed=config.seed)
    device = _device()
    return tokenizer, model.to(device), device


def _setup_data(tokenizer, texts: list[str], label_ids: list[int], config: TrainConfig) -> list[dict]:
    """Batches with dynamic padding: rows sorted into batches in a seeded order, padded to the batch's longest."""
    order = np.random.default_rng(config.seed).permutation(len(texts))
    batches = []
    for start in range(0, len(order), config.batch_size):
        chosen = order[start : start + config.batch_size]
        encoded = tokenizer(
            [texts[i] for i in chosen], truncation=True, max_length=config.max_length, padding=True, return_tensors="pt"
        )
        encoded["labels"] = torch.tensor([label_ids[i] for i in chosen])
        batches.append(dict(encoded))
    return batches


def _setup_optimizer(model, config: TrainConfig, total_steps: int):
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / max(total_steps, 1)))
    return optimizer, scheduler


def _loss_step(model, batch: dict, optimizer, scheduler) -> float:
    loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    value = float(loss.detach())
    if not math.isfinite(value):
        raise FloatingPointError(f"The training loss became {value}; lower the learning rate.")
    return value


def _save_checkpoint(
    output_dir: Path, model, optimizer, scheduler, step: int, losses: list[float], config: TrainConfig
) -> None:
    path = output_dir / CHECKPOINT
    tmp = path.with_suffix(".tmp")
    # The RNG state too: dropout draws from it, and a resumed run must continue exactly where this one stopped.
    torch.save(
        {
            "torch_rng": torch.get_rng_state(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "losses": losses,
            "config": asdict(config),
        },
        tmp,
    )
    tmp.replace(path)  # atomic: a kill during the write leaves the previous checkpoint intact


def _load_checkpoint(output_dir: Path, model, optimizer, scheduler) -> tuple[int, list[float]]:
    path = output_dir / CHECKPOINT
    if not path.exists():
        return 0, []
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"]), list(state["losses"])


def evaluate_classifier(
    model, tokenizer, texts: list[str], label_ids: list[int], config: TrainConfig, label_names: list[str]
) -> dict[str, Any]:
    predictions = predict_ids(model, tokenizer, texts, config.max_length, config.batch_size)
    return classification_metrics(label_ids, [p for p, _ in predictions], label_names)


def predict_ids(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 32) -> list[tuple[int, float]]:
    out = []
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer(
                texts[start : start + batch_size],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            ).to(device)
            probabilities = torch.softmax(model(**encoded).logits, dim=-1)
            scores, ids = probabilities.max(dim=-1)
            out.extend(zip(ids.tolist(), scores.tolist(), strict=True))
    model.train()
    return out


def predict(model_dir: Path, inputs: list[str], max_length: int = 128) -> list[dict[str, Any]]:
    """Load a trained classifier from disk and label `inputs`: [{label, score}]."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    labels = json.loads((model_dir / "labels.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(model_dir / "model")
    model = AutoModelForSequenceClassification.from_pretrained(model_dir / "model")
    return [
        {"label": labels[index], "score": round(score, 4)}
        for index, score in predict_ids(model, tokenizer, inputs, max_length)
    ]
