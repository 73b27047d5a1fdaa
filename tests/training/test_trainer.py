import json

import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from marketplace.job_errors import JobCancelled
from training import trainer as trainer_module
from training.data import encode_sft, pack, packed_batches, padded_batches
from training.registry import BASE_MODELS, load_causal_lm, load_classifier
from training.tabular import NotANumber, TabularEncoder
from training.trainer import TrainConfig, TrainData, predict, train, train_text_classifier

TEXTS = ["great product, love it", "terrible, broke in a day", "works great", "awful support, never again"] * 6
LABELS = ["great", "other", "great", "other"] * 6
SPEC = BASE_MODELS["tiny-random-bert"]
CONFIG = TrainConfig(epochs=2, batch_size=4, learning_rate=1e-3, checkpoint_every=3)

PROMPTS = ["Summarise: great product, works well", "Summarise: terrible quality, broke quickly"] * 8
COMPLETIONS = ["positive", "negative"] * 8
SFT = TrainData(
    pd.DataFrame({"prompt": PROMPTS, "answer": COMPLETIONS}),
    pd.DataFrame({"prompt": PROMPTS[:4], "answer": COMPLETIONS[:4]}),
    input_column="prompt",
    target_column="answer",
)
LLAMA = BASE_MODELS["tiny-random-llama"]
SFT_CONFIG = TrainConfig(
    task="causal-lm", epochs=2, batch_size=2, learning_rate=5e-3, max_length=96, checkpoint_every=2
)

CREDIT = pd.DataFrame(
    {
        "income": [float(i % 10) for i in range(40)],
        "home": ["own", "rent", "other", None] * 10,
        "age": list(range(40)),
        "status": ["good" if i % 10 >= 5 else "bad" for i in range(40)],
    }
)
TABULAR = TrainData(CREDIT.iloc[:32], CREDIT.iloc[32:], target_column="status")
TABULAR_CONFIG = TrainConfig(task="tabular-classification", epochs=3, batch_size=8, learning_rate=1e-2)


def _changed(before: torch.nn.Module, after: torch.nn.Module) -> bool:
    return any(
        not torch.equal(a, b) for a, b in zip(before.state_dict().values(), after.state_dict().values(), strict=True)
    )


def test_text_classification_changes_parameters_with_finite_losses_and_saves_a_usable_model(tmp_path):
    _, before = load_classifier(SPEC, 2, seed=0)
    result = train_text_classifier(SPEC, TEXTS, LABELS, TEXTS[:8], LABELS[:8], tmp_path, CONFIG)

    after = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model")
    assert _changed(before, after) and result.steps == 12 and len(result.losses) == 12
    assert all(torch.isfinite(torch.tensor(result.losses)))
    assert set(result.metrics) == {"accuracy", "macro_f1", "majority_baseline", "eval_rows"}
    assert result.labels == ["great", "other"] and after.config.id2label == {0: "great", 1: "other"}
    assert json.loads((tmp_path / "labels.json").read_text()) == ["great", "other"]
    predictions = predict(tmp_path, ["love it", "broke"])
    assert [sorted(p) for p in predictions] == [["label", "score"], ["label", "score"]]
    assert {p["label"] for p in predictions} <= {"great", "other"}


def test_resume_after_an_interruption_reaches_the_same_final_step_and_losses(tmp_path):
    calls = {"n": 0}

    def cancel_after_five() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    with pytest.raises(JobCancelled) as cancelled:
        train_text_classifier(
            SPEC, TEXTS, LABELS, TEXTS[:8], LABELS[:8], tmp_path / "run", CONFIG, should_cancel=cancel_after_five
        )
    assert cancelled.value.step == 5 and (tmp_path / "run" / "checkpoint.pt").exists()
    resumed_steps = []
    resumed = train_text_classifier(
        SPEC, TEXTS, LABELS, TEXTS[:8], LABELS[:8], tmp_path / "run", CONFIG, event=lambda e: resumed_steps.append(e)
    )
    straight = train_text_classifier(SPEC, TEXTS, LABELS, TEXTS[:8], LABELS[:8], tmp_path / "straight", CONFIG)

    assert resumed.steps == straight.steps == 12 and [e["step"] for e in resumed_steps] == list(range(6, 13))
    assert resumed.losses == pytest.approx(straight.losses, abs=1e-5)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_cancel_stops_before_the_next_step_and_reports_progress_events(tmp_path):
    events = []
    with pytest.raises(JobCancelled):
        train_text_classifier(
            SPEC,
            TEXTS,
            LABELS,
            TEXTS[:8],
            LABELS[:8],
            tmp_path,
            CONFIG,
            event=events.append,
            should_cancel=lambda: len(events) == 2,
        )
    assert [e["step"] for e in events] == [1, 2] and events[0]["total_steps"] == 12
    assert set(events[0]) == {
        "step",
        "total_steps",
        "epoch",
        "loss",
        "learning_rate",
        "tokens_per_s",
        "eta_s",
        "device",
    }
    assert events[0]["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert not (tmp_path / "model").exists()


def test_causal_lm_fine_tuning_learns_the_completions_and_generates_text(tmp_path, model_cache):
    _, before = load_causal_lm(LLAMA, model_cache)
    result = train(LLAMA, SFT, tmp_path, SFT_CONFIG, cache_dir=model_cache)

    after = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    assert _changed(before, after) and all(torch.isfinite(torch.tensor(result.losses)))
    assert result.losses[-1] < result.losses[0]
    assert (
        set(result.metrics) == {"loss", "perplexity", "eval_tokens", "eval_rows"} and result.metrics["eval_rows"] == 4
    )
    [answer] = predict(tmp_path, ["Summarise: great product, works well"], max_new_tokens=4)
    assert list(answer) == ["text"] and isinstance(answer["text"], str)


def test_packing_takes_fewer_steps_for_the_same_examples(tmp_path, model_cache):
    tokenizer, _ = load_causal_lm(LLAMA, model_cache)
    rows = pack(encode_sft(tokenizer, PROMPTS, COMPLETIONS, max_length=96), max_length=96)
    unpacked_config = TrainConfig(**{**SFT_CONFIG.__dict__, "packing": False})
    unpacked = train(LLAMA, SFT, tmp_path / "a", unpacked_config, cache_dir=model_cache)
    packed = train(LLAMA, SFT, tmp_path / "b", SFT_CONFIG, cache_dir=model_cache)
    assert len(rows) == 6 and unpacked.steps == 2 * 8 and packed.steps == 2 * 3
    assert 0 < unpacked.padding_share < 1 and 0 < packed.padding_share < 1


def test_padding_share_counts_the_slots_no_real_token_fills():
    from training.trainer import _padding_share

    padded = {"input_ids": torch.zeros(2, 4), "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])}
    packed = {"input_ids": torch.zeros(1, 4), "token_mask": torch.tensor([[1, 1, 1, 0]])}
    assert _padding_share([padded]) == 0.25 and _padding_share([padded, packed]) == 0.25
    assert _padding_share([{"features": torch.zeros(3, 2), "labels": torch.zeros(3)}]) == 0.0


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("lora", [True, False])
@pytest.mark.parametrize("logits_to_keep", [True, False])
def test_the_completion_only_loss_equals_the_models_own_loss_and_gradients(
    model_cache, monkeypatch, packed, lora, logits_to_keep
):
    tokenizer, model = load_causal_lm(LLAMA, model_cache)
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", lora_dropout=0.0))
    monkeypatch.setattr(trainer_module, "_takes_logits_to_keep", lambda m: logits_to_keep)
    examples = encode_sft(tokenizer, PROMPTS[:6], ["positive", "rather negative overall", "ok"] * 2, max_length=40)
    make = packed_batches if packed else padded_batches
    [batch, *_] = make(pack(examples, max_length=40) if packed else examples, batch_size=4, pad_id=0, seed=0)
    inputs = {k: v for k, v in batch.items() if k not in ("labels", "token_mask")}
    trainable = [p for p in model.parameters() if p.requires_grad]

    reference = model(**inputs, labels=batch["labels"], use_cache=False).loss
    expected = torch.autograd.grad(reference, trainable)
    ours = trainer_module._causal_lm_loss(model, {**inputs, "use_cache": False}, batch["labels"], reduction="mean")
    got = torch.autograd.grad(ours, trainable)

    assert ours.item() == pytest.approx(reference.item(), rel=1e-5)
    assert all(torch.allclose(a, b, atol=1e-6, rtol=1e-4) for a, b in zip(got, expected, strict=True))


def test_lora_trains_only_the_adapters_and_saves_a_merged_model_without_peft(tmp_path, model_cache):
    config = TrainConfig(**{**SFT_CONFIG.__dict__, "lora": True, "lora_rank": 4, "epochs": 1})
    _, base = load_causal_lm(LLAMA, model_cache)
    result = train(LLAMA, SFT, tmp_path, config, cache_dir=model_cache)

    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    assert result.trainable_parameters < sum(p.numel() for p in base.parameters()) / 4
    assert _changed(base, merged) and set(merged.state_dict()) == set(base.state_dict())
    assert torch.equal(merged.state_dict()["model.embed_tokens.weight"], base.state_dict()["model.embed_tokens.weight"])


def test_lora_resume_after_an_interruption_reaches_the_same_final_step(tmp_path, model_cache):
    config = TrainConfig(**{**SFT_CONFIG.__dict__, "lora": True, "lora_rank": 4})
    with pytest.raises(JobCancelled):
        train(LLAMA, SFT, tmp_path / "run", config, cache_dir=model_cache, should_cancel=iter([0, 0, 0, 1]).__next__)
    resumed = train(LLAMA, SFT, tmp_path / "run", config, cache_dir=model_cache)
    straight = train(LLAMA, SFT, tmp_path / "straight", config, cache_dir=model_cache)
    assert resumed.steps == straight.steps and resumed.losses == pytest.approx(straight.losses, abs=1e-5)


def test_tabular_classification_trains_an_mlp_and_predicts_rows(tmp_path):
    result = train(BASE_MODELS["tabular-mlp"], TABULAR, tmp_path, TABULAR_CONFIG)

    assert result.steps == 12 and result.labels == ["bad", "good"] and all(torch.isfinite(torch.tensor(result.losses)))
    assert result.metrics["eval_rows"] == 8
    rows = [{"income": 9.0, "home": "own", "age": 3}, {"income": 1.0, "home": "boat", "age": None}]
    predictions = predict(tmp_path, rows)
    assert len(predictions) == 2 and {p["label"] for p in predictions} <= {"bad", "good"}


def test_a_task_the_base_model_cannot_do_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot be trained for causal-lm"):
        train(SPEC, SFT, tmp_path, SFT_CONFIG)


def test_early_stopping_restores_the_weights_that_scored_best_on_the_validation_rows(tmp_path):
    # The training labels say the opposite of the validation labels: the longer the run, the worse it reads them, so
    # the best validation score comes early and the saved model must be that one, not the last step's.
    flipped = CREDIT.assign(status=CREDIT["status"].map({"good": "bad", "bad": "good"}))
    data = TrainData(flipped.iloc[:32], CREDIT.iloc[32:], target_column="status", validation=CREDIT.iloc[:32])
    config = TrainConfig(task="tabular-classification", epochs=6, batch_size=8, learning_rate=3e-2, validations=24)
    events = []
    result = train(BASE_MODELS["tabular-mlp"], data, tmp_path, config, event=events.append)

    history = result.validation["history"]
    assert result.steps == 24 and [h["step"] for h in history] == list(range(1, 25))
    assert [e["validation"] for e in events if "validation" in e] == [
        {k: v for k, v in h.items() if k != "step"} for h in history
    ]
    best = max(history, key=lambda h: (h["accuracy"], -h["loss"]))
    assert result.validation["best_step"] == best["step"] < result.steps
    assert history[-1]["accuracy"] < best["accuracy"]
    # The saved model scores the best step's accuracy on the validation rows, not the last step's.
    rows = CREDIT.iloc[:32].drop(columns="status").to_dict("records")
    predicted = [p["label"] for p in predict(tmp_path, rows)]
    accuracy = sum(p == t for p, t in zip(predicted, CREDIT["status"].iloc[:32], strict=True)) / 32
    assert accuracy == pytest.approx(best["accuracy"], abs=1e-4)


def test_without_validation_rows_the_last_step_is_kept(tmp_path):
    result = train(BASE_MODELS["tabular-mlp"], TABULAR, tmp_path, TABULAR_CONFIG)
    assert result.validation == {}


def test_amounts_written_as_text_are_learnt_as_numbers_and_read_back_at_predict(tmp_path):
    # A provider's "$48,210" column reaches training as text (ingest keeps amounts as written). As categories, each
    # amount was a one-hot slot of its own, and an amount never seen in training matched none: the model could not
    # tell a high income from a low one it had not seen.
    incomes = [1000 * (i % 40) + 7 for i in range(80)]
    frame = pd.DataFrame(
        {
            "income": [f"${v:,}" for v in incomes],
            "rate": [f"{i % 7}%" for i in range(80)],
            "status": ["good" if v >= 20000 else "bad" for v in incomes],
        }
    )
    data = TrainData(frame.iloc[:64], frame.iloc[64:], target_column="status")
    config = TrainConfig(task="tabular-classification", epochs=40, batch_size=16, learning_rate=2e-2)
    train(BASE_MODELS["tabular-mlp"], data, tmp_path, config)

    encoder = TabularEncoder.fit(frame, ["income", "rate"])
    assert set(encoder.numeric) == {"income", "rate"} and encoder.categorical == {}
    # Amounts it never saw, written as the column writes them, as bare numbers, or as numbers in text.
    rows = [{"income": "$1,500", "rate": "3%"}, {"income": "$38,500", "rate": "3%"}]
    rows += [{"income": 1500, "rate": 3}, {"income": "38500", "rate": "3"}]
    assert [p["label"] for p in predict(tmp_path, rows)] == ["bad", "good", "bad", "good"]
    with pytest.raises(NotANumber, match="income"):
        TabularEncoder.fit(frame, ["income"]).transform(pd.DataFrame({"income": ["SKU1001"]}))


def test_dates_are_learnt_as_days_and_read_back_from_text_at_predict(tmp_path):
    # Ingest types a date column; the encoder one-hot encoded its 50 most frequent dates, so a date the model had
    # not seen in training matched none and the model could not tell an early order from a late one.
    when = pd.Series(pd.date_range("2023-01-01", periods=80, freq="5D"))
    frame = pd.DataFrame(
        {"ordered": when, "status": ["late" if d >= pd.Timestamp("2023-07-01") else "early" for d in when]}
    )
    data = TrainData(frame.iloc[:64], frame.iloc[64:], target_column="status")
    config = TrainConfig(task="tabular-classification", epochs=40, batch_size=16, learning_rate=2e-2)
    train(BASE_MODELS["tabular-mlp"], data, tmp_path, config)

    encoder = TabularEncoder.fit(frame, ["ordered"])
    assert encoder.dates == ("ordered",) and encoder.categorical == {}
    assert TabularEncoder.from_json(json.loads(json.dumps(encoder.to_json()))) == encoder
    rows = [{"ordered": "2023-01-03"}, {"ordered": "2023-11-02T08:00:00Z"}, {"ordered": "2023-02-11"}]
    assert [p["label"] for p in predict(tmp_path, rows)] == ["early", "late", "early"]
    with pytest.raises(NotANumber, match="not a date"):
        encoder.transform(pd.DataFrame({"ordered": ["soon"]}))
