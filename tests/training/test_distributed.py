"""Data-parallel training on CPU (gloo): two processes take the steps one process takes on the same global batch."""

import pandas as pd
import pytest
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification

from marketplace.job_errors import JobInputError
from tests.training.test_trainer import LABELS, SPEC, TABULAR, TEXTS
from training.registry import BASE_MODELS
from training.trainer import TrainConfig, TrainData, predict, train

# Dropout off: each process draws its own masks over its own rows, which no single process can reproduce.
TOLERANCE = 1e-4  # largest absolute difference of any parameter; float sums in another order, nothing more


def test_two_processes_reach_the_parameters_and_loss_of_one_on_the_same_global_batch(tmp_path):
    config = TrainConfig(
        task="tabular-classification", epochs=3, batch_size=8, learning_rate=1e-2, dropout=0.0, early_stopping=False
    )
    events: list[dict] = []
    one = train(BASE_MODELS["tabular-mlp"], TABULAR, tmp_path / "one", config)
    two = train(
        BASE_MODELS["tabular-mlp"],
        TABULAR,
        tmp_path / "two",
        TrainConfig(**{**config.__dict__, "processes": 2}),
        event=events.append,
    )
    assert two.steps == one.steps == 12
    assert abs(two.losses[-1] - one.losses[-1]) <= 0.01 * abs(one.losses[-1])
    first, second = (load_file(tmp_path / run / "model" / "model.safetensors") for run in ("one", "two"))
    assert max((first[name] - second[name]).abs().max().item() for name in first) < TOLERANCE
    # The job's events come from the first process and show each process's share.
    assert len(events) == 12 and events[-1]["processes"] == 2 and len(events[-1]["tokens_per_s_by_process"]) == 2
    assert predict(tmp_path / "two", [{"income": 9.0, "home": "own", "age": 3}])[0]["label"] in {"good", "bad"}


def test_a_text_classifier_trains_on_two_processes_like_on_one(tmp_path):
    data = TrainData(
        pd.DataFrame({"text": TEXTS, "label": LABELS}), pd.DataFrame({"text": TEXTS[:4], "label": LABELS[:4]})
    )
    config = TrainConfig(epochs=2, batch_size=4, learning_rate=1e-3, dropout=0.0, early_stopping=False)
    one = train(SPEC, data, tmp_path / "one", config)
    two = train(SPEC, data, tmp_path / "two", TrainConfig(**{**config.__dict__, "processes": 2}))
    assert two.steps == one.steps and abs(two.losses[-1] - one.losses[-1]) <= 0.01 * abs(one.losses[-1])
    a = AutoModelForSequenceClassification.from_pretrained(tmp_path / "one" / "model").state_dict()
    b = AutoModelForSequenceClassification.from_pretrained(tmp_path / "two" / "model").state_dict()
    assert max((a[name].float() - b[name].float()).abs().max().item() for name in a) < TOLERANCE


def test_data_parallel_causal_lm_is_refused_with_a_clear_error(tmp_path):
    from tests.training.test_trainer import LLAMA, SFT, SFT_CONFIG

    with pytest.raises(JobInputError, match="classification only"):
        train(LLAMA, SFT, tmp_path, TrainConfig(**{**SFT_CONFIG.__dict__, "processes": 2}))


def _gpus(monkeypatch, count: int) -> None:
    """This process sees `count` GPUs (the backend decision only asks torch how many there are)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_two_processes_on_a_one_gpu_worker_are_refused_before_any_process_starts(tmp_path, monkeypatch):
    _gpus(monkeypatch, 1)
    monkeypatch.delenv("TESSERA_DEVICE", raising=False)
    config = TrainConfig(task="tabular-classification", epochs=1, batch_size=8, processes=2)
    with pytest.raises(JobInputError, match=r"processes=2 needs one GPU per process, and this worker has 1"):
        train(BASE_MODELS["tabular-mlp"], TABULAR, tmp_path / "two", config)
    assert not (tmp_path / "two").exists()  # nothing launched, nothing half-written


def test_the_process_group_backend_follows_the_trainers_device(monkeypatch):
    from training.distributed import backend_for

    monkeypatch.delenv("TESSERA_DEVICE", raising=False)
    _gpus(monkeypatch, 0)
    assert backend_for(2) == "gloo"
    _gpus(monkeypatch, 2)
    assert backend_for(2) == "nccl"
    monkeypatch.setenv("TESSERA_DEVICE", "cpu")  # a GPU machine told to train on its CPU: gloo, not NCCL
    assert backend_for(2) == "gloo"
    monkeypatch.setenv("TESSERA_DEVICE", "cuda:0")
    with pytest.raises(JobInputError, match="pins every process to one GPU"):
        backend_for(2)


def test_a_training_job_with_params_processes_runs_data_parallel_and_its_events_show_each_process(
    provider, django_capture_on_commit_callbacks
):
    from tests.conftest import api_client_for, make_ready_version
    from tests.training.test_services import REVIEWS, _train

    reviews = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    client = api_client_for(provider)
    body = {
        "base_model": "tiny-random-bert",
        "mix": [{"version": reviews.pk, "weight": 1}],
        "text_column": "review",
        "label_column": "label",
    }
    refused = client.post("/api/v1/training-jobs/", {**body, "params": {"processes": 9}}, format="json")
    assert refused.status_code == 400 and "processes" in refused.data["message"]
    training = _train(provider, [reviews], django_capture_on_commit_callbacks, {"epochs": 1, "processes": 2})
    assert training.job.status == "succeeded", training.job.error
    assert training.events and all(e["processes"] == 2 for e in training.events)
    assert len(training.events[-1]["tokens_per_s_by_process"]) == 2
