"""The GPU path's switches, checked on the CPU: the device comes from the environment with clear errors, and
`manage.py gpu_check` refuses a machine with no GPU and runs its steps end to end with `--allow-cpu`."""

import io
import json

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from marketplace.devices import torch_device_name


def test_the_device_comes_from_the_environment_with_clear_errors(monkeypatch):
    monkeypatch.delenv("TESSERA_DEVICE", raising=False)
    assert torch_device_name() == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("TESSERA_DEVICE", "CPU")
    assert torch_device_name() == "cpu"
    monkeypatch.setenv("TESSERA_DEVICE", "tpu")
    with pytest.raises(ValueError, match="auto, cpu, cuda or cuda:N"):
        torch_device_name()
    if not torch.cuda.is_available():
        monkeypatch.setenv("TESSERA_DEVICE", "cuda:0")
        with pytest.raises(RuntimeError, match="asks for a GPU, but this worker sees none"):
            torch_device_name()


def test_training_follows_the_device_the_environment_names(monkeypatch):
    from training.trainer import _device

    monkeypatch.setenv("TESSERA_DEVICE", "cpu")
    assert _device() == torch.device("cpu")


def test_gpu_check_says_there_is_nothing_to_check_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(CommandError, match="No CUDA device is visible"):
        call_command("gpu_check")


@pytest.mark.integration
def test_gpu_check_runs_its_steps_and_prints_one_json_line_on_the_cpu_when_allowed():
    out = io.StringIO()
    call_command("gpu_check", "--allow-cpu", stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert report["ok"] is True and report["device"]["picked"] in ("cpu", "cuda")
    training = report["steps"]["training"]["bench_training"]
    assert training["throughput"]["tessera_tokens_per_s"] > 0 and training["packing"]["speedup"] > 0
    assert report["steps"]["text"]["text_generation"]
    compute = report["steps"]["compute"]["bench_compute"]
    assert compute["int8_size_ratio"] < 1 and compute["distilled"]["parameters"] < compute["teacher"]["parameters"]
    assert compute["timed_on"] == "cpu" and compute["predict_throughput"]["ratio"] > 0
    assert compute["data_parallel_training"]["processes_2"]["steps"] == 2
