"""On a GPU worker: training and text generation run on CUDA in bf16, and say so."""

import tempfile
from pathlib import Path

import torch
from django.conf import settings

from marketplace.devices import torch_device_name


def test_the_worker_picks_the_gpu_and_computes_in_bf16_there():
    assert torch.cuda.is_available() and torch_device_name().startswith("cuda")
    assert torch.cuda.is_bf16_supported()
    a = torch.randn(256, 256, device="cuda", dtype=torch.bfloat16)
    assert torch.isfinite((a @ a).float()).all()


def test_fine_tuning_runs_on_cuda_and_reports_the_device_in_its_events():
    from training.management.commands.bench_training import MINILM, _reviews
    from training.trainer import TrainConfig, TrainData, predict, train

    frame = _reviews()[0].sample(48, random_state=0).reset_index(drop=True)
    events = []
    with tempfile.TemporaryDirectory() as workdir:
        result = train(
            MINILM,
            TrainData(frame, frame.head(16)),
            Path(workdir),
            TrainConfig(epochs=1, batch_size=16, checkpoint_every=10_000),
            event=events.append,
        )
        predictions = predict(Path(workdir), ["great value", "broke in a week"])
    assert events and {e["device"] for e in events} == {"cuda"}
    assert all(torch.isfinite(torch.tensor(e["loss"])) for e in events)
    assert result.steps == 3 and len(predictions) == 2


def test_text_generation_runs_on_cuda_in_bf16():
    from synthesis.llm import load_causal_lm, smollm2_dir
    from synthesis.text import TextConfig, generate_batch

    tokenizer, model, device = load_causal_lm(smollm2_dir(settings.TESSERA_MODEL_CACHE))
    assert device.type == "cuda" and model.dtype == torch.bfloat16
    outputs, tokens = generate_batch(
        tokenizer, model, device, ["Write a short product review:", "Describe a good day:"], TextConfig(seed=0)
    )
    assert len(outputs) == 2 and tokens > 0 and all(o and o[0].strip() for o in outputs)


def test_data_parallel_training_takes_one_gpu_per_process_or_says_there_are_too_few():
    import pytest

    from marketplace.job_errors import JobInputError
    from training.management.commands.bench_training import MINILM, _reviews
    from training.trainer import TrainConfig, TrainData, train

    frame = _reviews()[0].sample(64, random_state=0).reset_index(drop=True)
    config = TrainConfig(epochs=1, batch_size=16, processes=2, checkpoint_every=10_000)
    events = []
    with tempfile.TemporaryDirectory() as workdir:
        if torch.cuda.device_count() < 2:  # a one-GPU worker: NCCL cannot put two processes on one GPU
            with pytest.raises(JobInputError, match="needs one GPU per process"):
                train(MINILM, TrainData(frame, frame.head(16)), Path(workdir) / "run", config)
            return
        result = train(MINILM, TrainData(frame, frame.head(16)), Path(workdir) / "run", config, event=events.append)
    assert result.steps == 4 and events[-1]["processes"] == 2 and {e["device"] for e in events} == {"cuda"}


def test_a_student_is_distilled_on_the_gpu_and_served_like_its_teacher():
    from training import compression
    from training.management.commands.bench_training import MINILM, _reviews
    from training.trainer import TrainConfig, TrainData, predict, train

    frame = _reviews()[0].sample(48, random_state=0).reset_index(drop=True)
    with tempfile.TemporaryDirectory() as workdir:
        teacher, student = Path(workdir) / "teacher", Path(workdir) / "student"
        train(MINILM, TrainData(frame, frame.head(16)), teacher, TrainConfig(epochs=1, batch_size=16))
        texts, labels = frame["text"].astype(str).tolist(), frame["label"].astype(str).tolist()
        settings = compression.distill(teacher, student, texts, labels, params={"epochs": 1, "augment": 0})
        assert settings["kl_to_teacher_after"] < settings["kl_to_teacher_before"]
        assert compression.serving_devices([teacher, student]) == ["cuda", "cuda"]
        _, device = compression.latency_p50_ms([teacher, student], texts[:8], repeats=2)
        assert device == "cuda" and len(predict(student, ["great value"])) == 1
