import pandas as pd
import pytest
import torch

from training.data import MixPart, prepare_mix
from training.registry import BASE_MODELS, load_classifier
from training.trainer import Cancelled, TrainConfig, predict, train_text_classifier

TEXTS = ["great product, love it", "terrible, broke in a day", "works great", "awful support, never again"] * 6
LABELS = ["great", "other", "great", "other"] * 6
SPEC = BASE_MODELS["tiny-random-bert"]
CONFIG = TrainConfig(epochs=2, batch_size=4, learning_rate=1e-3, checkpoint_every=3)


def test_training_changes_parameters_with_finite_losses_and_saves_a_usable_model(tmp_path):
    _, before = load_classifier(SPEC, 2, seed=0)
    result = train_text_classifier(SPEC, TEXTS, LABELS, TEXTS[:8], LABELS[:8], tmp_path, CONFIG)

    _, after = load_classifier(SPEC, 2, seed=0)
    after.load_state_dict(
        __import__("transformers").AutoModelForSequenceClassification.from_pretrained(tmp_path / "model").state_dict()
    )
    changed = any(not torch.equal(a, b) for a, b in zip(before.parameters(), after.parameters(), strict=True))
    assert changed and result.steps == 12 and len(result.losses) == 12
    assert all(torch.isfinite(torch.tensor(result.losses)))
    assert set(result.metrics) == {"accuracy", "macro_f1", "majority_baseline", "eval_rows"}
    assert result.labels == ["great", "other"]
    predictions = predict(tmp_path, ["love it", "broke"])
    assert len(predictions) == 2 and {p["label"] for p in predictions} <= {"great", "other"}


def test_resume_after_an_interruption_reaches_the_same_final_step_and_weights(tmp_path):
    calls = {"n": 0}

    def cancel_after_five() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    with pytest.raises(Cancelled):
        train_text_classifier(
            SPEC, TEXTS, LABELS, TEXTS[:8], LABELS[:8], tmp_path / "run", CONFIG, should_cancel=cancel_after_five
        )
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    resumed = train_text_classifier(SPEC, TEXTS, LABELS, TEXTS[:8], LABELS[:8], tmp_path / "run", CONFIG)
    straight = train_text_classifier(SPEC, TEXTS, LABELS, TEXTS[:8], LABELS[:8], tmp_path / "straight", CONFIG)

    assert resumed.steps == straight.steps == 12
    assert resumed.losses == pytest.approx(straight.losses, abs=1e-5)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_evaluation_never_sees_synthetic_rows():
    real = pd.DataFrame({"text": [f"real {i}" for i in range(20)], "label": ["a", "b"] * 10})
    synthetic = pd.DataFrame({"text": [f"synthetic {i}" for i in range(40)], "label": ["a", "b"] * 20})
    data = prepare_mix([MixPart(real, 1.0, False, 1), MixPart(synthetic, 1.0, True, 2)], holdout_fraction=0.25)

    assert data.evaluation["text"].str.startswith("real").all() and len(data.evaluation) == 5
    assert not set(data.evaluation["text"]) & set(data.train["text"])
    assert data.rows_per_version == {1: 15, 2: 15}


def test_weights_set_the_share_of_training_rows():
    real = pd.DataFrame({"text": [f"r{i}" for i in range(40)], "label": ["a"] * 40})
    synthetic = pd.DataFrame({"text": [f"s{i}" for i in range(100)], "label": ["a"] * 100})
    data = prepare_mix(
        [MixPart(real, 1.0, False, 1), MixPart(synthetic, 3.0, True, 2)], holdout_fraction=0.0, evaluation=real.head(5)
    )
    assert data.rows_per_version == {1: 33, 2: 100}


def test_synthetic_only_mix_without_an_evaluation_set_is_refused():
    synthetic = pd.DataFrame({"text": ["s"] * 10, "label": ["a"] * 10})
    with pytest.raises(ValueError, match="Evaluation needs real rows"):
        prepare_mix([MixPart(synthetic, 1.0, True, 2)], holdout_fraction=0.2)
