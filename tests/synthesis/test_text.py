import numpy as np
import pandas as pd
import pytest
import torch
from django.utils import translation

import synthesis.llm as llm
import synthesis.text as text_engine
from marketplace.job_errors import JobCancelled
from marketplace.web.engine_words import translate
from synthesis.llm import load_causal_lm, model_dtype, tiny_llama_dir
from synthesis.text import TextConfig, agrees_with_real, generate_batch, near_duplicates, synthesize_text, text_report

REAL = pd.DataFrame(
    {
        "review": [
            "great product, works well",
            "terrible quality, broke quickly",
            "the support team helped a lot",
            "would not buy again",
        ]
        * 3,
        "score": ["great", "other", "great", "other"] * 3,
    }
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return tiny_llama_dir(tmp_path_factory.mktemp("models"))


def _config(**kwargs) -> TextConfig:
    base = {
        "mode": "generate",
        "text_column": "review",
        "label_column": "score",
        "rows": 8,
        "batch_size": 4,
        "sequences_per_prompt": 2,
        "max_new_tokens": 12,
        "min_chars": 1,
        "seed": 1,
    }
    return TextConfig(**{**base, **kwargs})


def test_generated_rows_carry_label_and_provenance(tiny_model):
    result = synthesize_text(REAL, _config(), model_dir=tiny_model, model_name="tiny", embedder=None)

    assert result.generated == 8 and result.tokens > 0
    assert list(result.data.columns) == ["review", "score", "provenance"]
    assert set(result.data["score"]) <= {"great", "other"}
    for provenance in result.data["provenance"]:
        assert set(provenance) == {"source_rows", "mode", "template", "model", "seed"}
        assert provenance["model"] == "tiny" and provenance["seed"] == 1
        assert all(0 <= row < len(REAL) for row in provenance["source_rows"])
    assert len(result.data) + sum(result.dropped.values()) == result.generated


def test_paraphrase_mode_uses_one_source_row_per_prompt(tiny_model):
    result = synthesize_text(REAL, _config(mode="paraphrase"), model_dir=tiny_model, embedder=None)
    assert all(len(p["source_rows"]) == 1 for p in result.data["provenance"])


def test_pii_filter_drops_what_it_flags(tiny_model):
    result = synthesize_text(
        REAL, _config(), model_dir=tiny_model, embedder=None, pii_filter=lambda texts: [False] * len(texts)
    )
    assert (
        result.data.empty
        and result.dropped.get("personal_data", 0) + sum(v for k, v in result.dropped.items() if k != "personal_data")
        == result.generated
    )


def _numbered_generation(monkeypatch) -> None:
    """Replace the model's sampling: every text a new one, "review N" (N counting from 0), whatever the prompt."""
    count = iter(range(10**6))

    def fake(tokenizer, model, device, prompts, config):
        return [[f"review {next(count)}" for _ in range(config.sequences_per_prompt)] for _ in prompts], 1

    monkeypatch.setattr(text_engine, "generate_batch", fake)


def _odd_ones_flagged(texts: list[str]) -> list[bool]:
    return [int(t.split()[-1]) % 2 == 0 for t in texts]


def test_texts_the_filters_remove_are_made_up_so_the_rows_asked_arrive_in_the_real_shares(tiny_model, monkeypatch):
    # Half of what the model writes is flagged as personal data. The buyer asked for 8 rows, and gets 8, half per
    # label as in the real rows; until the top-up they got 4.
    _numbered_generation(monkeypatch)
    messages: list[str] = []
    result = synthesize_text(
        REAL,
        _config(),
        model_dir=tiny_model,
        embedder=None,
        pii_filter=_odd_ones_flagged,
        progress=lambda fraction, message: messages.append(message),
    )

    assert len(result.data) == 8 == result.rows_asked
    assert result.data["score"].value_counts().to_dict() == {"great": 4, "other": 4}
    assert result.generated > 8 and result.dropped["personal_data"] >= result.generated // 2 - 1
    assert len(result.data) + sum(result.dropped.values()) == result.generated

    _numbered_generation(monkeypatch)
    plain = synthesize_text(
        REAL, _config(top_up=False), model_dir=tiny_model, embedder=None, pii_filter=_odd_ones_flagged
    )
    assert len(plain.data) == 4 and plain.generated == 8
    # The job page shows each progress message in the reader's language.
    assert any(m.startswith("Making up texts") for m in messages)
    with translation.override("zh-hans"):
        assert [m for m in set(messages) if translate(m) == m] == []


def test_the_top_up_stops_at_its_cap_when_the_filters_keep_nothing(tiny_model, monkeypatch):
    _numbered_generation(monkeypatch)
    result = synthesize_text(
        REAL, _config(), model_dir=tiny_model, embedder=None, pii_filter=lambda texts: [False] * len(texts)
    )

    assert result.data.empty and result.generated == text_engine.TOP_UP_MAX * 8  # 4 prompts of 2 texts, times 4


def test_near_duplicates_are_found_against_sources_and_earlier_rows():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.999, 0.045], [0.6, 0.8]])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    flags = near_duplicates(vectors[1:], vectors[:1], threshold=0.95)
    assert flags.tolist() == [False, True, False]


def test_report_counts_distinct_ngrams_and_label_balance(tiny_model):
    result = synthesize_text(REAL, _config(), model_dir=tiny_model, embedder=None)
    report = text_report(REAL, result.data, "review", "score", result)
    assert report["generated"] == 8 and 0 <= report["distinct_1"] <= 1
    assert report["real_label_balance"] == {"great": 6, "other": 6}


def test_bad_configuration_fails_clearly(tiny_model):
    with pytest.raises(ValueError, match="no text column"):
        synthesize_text(REAL, _config(text_column="body"), model_dir=tiny_model)
    with pytest.raises(ValueError, match="mode must be"):
        synthesize_text(REAL, _config(mode="translate"), model_dir=tiny_model)
    with pytest.raises(ValueError, match="prompt template is not valid"):
        synthesize_text(REAL, _config(template="Write a {sentiment} review"), model_dir=tiny_model)


def test_cancel_stops_generation_before_the_first_batch(tiny_model):
    with pytest.raises(JobCancelled):
        synthesize_text(REAL, _config(), model_dir=tiny_model, embedder=None, should_cancel=lambda: True)


def test_provenance_names_positions_in_the_source_even_when_rows_lack_text(tiny_model):
    # Rows 0 and 2 have no text: every prompt must point at rows that really hold text.
    real = REAL.copy()
    real.loc[[0, 2], "review"] = None
    result = synthesize_text(real, _config(mode="paraphrase"), model_dir=tiny_model, embedder=None)

    used = {row for provenance in result.data["provenance"] for row in provenance["source_rows"]}
    assert used and used.isdisjoint({0, 2}) and used <= set(range(len(real)))
    for provenance, label in zip(result.data["provenance"], result.data["score"], strict=True):
        assert real.at[provenance["source_rows"][0], "score"] == label


def test_copies_of_a_prompt_sample_from_one_shared_prefill_as_from_their_own(tiny_model):
    # At temperature 0 sampling is greedy, so the shared-cache path must give exactly what generating every
    # copy from its own prompt gives; the prompts differ in length so left padding is exercised too.
    tokenizer, model, device = load_causal_lm(tiny_model, "float32")
    prompts = ["great product, works", "terrible quality, broke quickly and the support team", "would"]
    config = _config(sequences_per_prompt=3, max_new_tokens=10, temperature=0.0, top_p=1.0)

    shared, tokens = generate_batch(tokenizer, model, device, prompts, config)

    encoded = tokenizer(prompts, return_tensors="pt", padding=True)
    with torch.no_grad():
        output = model.generate(
            input_ids=encoded["input_ids"].repeat_interleave(3, dim=0),
            attention_mask=encoded["attention_mask"].repeat_interleave(3, dim=0),
            do_sample=False,
            max_new_tokens=10,
            pad_token_id=tokenizer.pad_token_id,
        )
    alone = tokenizer.batch_decode(output[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
    assert [text for group in shared for text in group] == alone
    assert tokens > 0


def test_prefill_groups_prompts_by_length_so_padding_stays_under_a_quarter():
    lengths = [10, 400, 12, 390, 11, 60, 420]
    buckets = text_engine._prefill_buckets(lengths)

    assert sorted(row for bucket in buckets for row in bucket) == list(range(len(lengths)))
    for bucket in buckets:
        real = sum(lengths[r] for r in bucket)
        assert max(lengths[r] for r in bucket) * len(bucket) <= 1.25 * real
    assert [0, 2, 4] in [sorted(b) for b in buckets] and [1, 3, 6] in [sorted(b) for b in buckets]


def test_prompts_of_very_different_lengths_decode_as_each_would_alone(tiny_model):
    # Separate prefill buckets are merged into one left-padded cache; greedy decoding must not notice.
    tokenizer, model, device = load_causal_lm(tiny_model, "float32")
    prompts = ["great", "the support team helped a lot and " * 12 + "the product", "terrible quality, broke"]
    config = _config(sequences_per_prompt=2, max_new_tokens=8, temperature=0.0, top_p=1.0)

    batched, _ = generate_batch(tokenizer, model, device, prompts, config)

    for prompt, texts in zip(prompts, batched, strict=True):
        encoded = tokenizer([prompt], return_tensors="pt")
        with torch.no_grad():
            output = model.generate(**encoded, do_sample=False, max_new_tokens=8, pad_token_id=tokenizer.pad_token_id)
        alone = tokenizer.decode(output[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        assert texts == [alone, alone]


def test_sampling_draws_only_from_the_top_p_nucleus():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).repeat(2000, 1)
    torch.manual_seed(0)

    drawn = text_engine._sample(probs.log(), temperature=1.0, top_k=50, top_p=0.7)

    assert set(drawn.tolist()) == {0, 1}
    assert 0.55 < (drawn == 0).float().mean() < 0.70  # 0.5 / 0.8 of the kept mass


def test_the_llm_runs_in_bf16_on_cuda_and_on_cpus_with_native_bf16(monkeypatch):
    assert model_dtype("cuda") == torch.bfloat16
    assert model_dtype("cpu", "float32") == torch.float32 and model_dtype("cpu", "bfloat16") == torch.bfloat16
    monkeypatch.setattr(llm, "cpu_has_fast_bf16", lambda: False)
    assert model_dtype("cpu") == torch.float32
    monkeypatch.setattr(llm, "cpu_has_fast_bf16", lambda: True)
    assert model_dtype("cpu") == torch.bfloat16
    with pytest.raises(ValueError, match="auto, float32 or bfloat16"):
        model_dtype("cpu", "fp8")


def _scripted_generation(monkeypatch, outputs: dict[str, str]) -> list[str]:
    """Replace the model's sampling: each prompt gets the output scripted for its label name; returns the prompts."""
    seen: list[str] = []

    def fake(tokenizer, model, device, prompts, config):
        seen.extend(prompts)
        texts = [[next(v for k, v in outputs.items() if k in p)] * config.sequences_per_prompt for p in prompts]
        return texts, 1

    monkeypatch.setattr(text_engine, "generate_batch", fake)
    return seen


def test_continuation_prompts_name_labels_quote_excerpts_and_keep_the_first_item(tiny_model, monkeypatch):
    real = pd.DataFrame(
        {"review": ["Tasty.<br />I loved it. Will buy again and again.", "Stale."], "score": ["a", "b"]}
    )
    prompts = _scripted_generation(
        monkeypatch, {"glowing": " Fresh and crisp.\n- Another one", "poor": " Too salty - Next item"}
    )
    config = _config(
        chat_template=False,
        example_chars=20,
        label_names={"a": "glowing", "b": "poor"},
        rows=2,
        sequences_per_prompt=1,
    )

    result = synthesize_text(real, config, model_dir=tiny_model, embedder=None)

    assert prompts == [
        "Here are some glowing product reviews:\n- Tasty. I loved it.\n-",
        "Here are some poor product reviews:\n- Stale.\n-",
    ]
    assert result.data[["review", "score"]].values.tolist() == [["Fresh and crisp.", "a"], ["Too salty", "b"]]


def test_consistency_filter_drops_rows_a_classifier_of_the_real_rows_reads_as_the_other_label(tiny_model, monkeypatch):
    # Embeddings that put every text with "good" in it on one axis and the rest on the other: the real "other" row
    # has no "good", so a generated "other" row that says "good" reads as "great" and is dropped.
    def embedder(texts: list[str]) -> np.ndarray:
        return (
            np.array([[1.0, 0.0] if "good" in t else [0.0, 1.0] for t in texts]) + np.arange(len(texts))[:, None] * 1e-3
        )

    real = pd.DataFrame(
        {"review": ["good stuff", "really good", "bad stuff", "awful"], "score": ["great", "great", "other", "other"]}
    )
    _scripted_generation(monkeypatch, {"'great'": "so good, I liked it", "'other'": "good but pricey"})
    config = _config(
        consistency_filter=True, rows=2, sequences_per_prompt=1, near_duplicate_threshold=1.1, top_up=False
    )

    result = synthesize_text(real, config, model_dir=tiny_model, embedder=embedder)

    assert result.data[["review", "score"]].values.tolist() == [["so good, I liked it", "great"]]
    assert result.dropped["label_disagrees"] == 1


def test_agreement_with_real_rows_follows_the_nearest_labelled_cluster():
    references = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.1, 0.9], [0.05, 1.0]])
    candidates = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])

    agree = agrees_with_real(candidates, ["x", "y", "y", "z"], references, ["x", "x", "y", "y", "y"])

    assert agree == [True, False, True, False]  # "z" is no label of the real rows


def test_consistency_filter_needs_labels_and_embeddings(tiny_model):
    with pytest.raises(ValueError, match="checks labels"):
        synthesize_text(REAL, _config(label_column=None, consistency_filter=True), model_dir=tiny_model)
    with pytest.raises(ValueError, match="compares sentence embeddings"):
        synthesize_text(REAL, _config(consistency_filter=True), model_dir=tiny_model, embedder=None)


def test_prompts_follow_the_real_label_shares_interleaved():
    schedule = text_engine.label_schedule(pd.Series({"great": 0.75, "other": 0.25}), 8)
    assert schedule == ["great", "great", "other", "great", "great", "great", "other", "great"]
    assert text_engine.label_schedule(pd.Series({"a": 0.5, "b": 0.3, "c": 0.2}), 3) == ["a", "b", "c"]


def _clusters(texts: list[str]) -> np.ndarray:
    """Embeddings that put texts with "good" on one axis and the rest on the other, with a little spread."""
    return np.array([[1.0, 0.0] if "good" in t else [0.0, 1.0] for t in texts]) + np.arange(len(texts))[:, None] * 1e-3


def test_auto_label_check_filters_only_where_the_real_rows_teach_it_their_labels(tiny_model, monkeypatch):
    texts = ["good stuff", "really good", "good one", "bad stuff", "awful", "broken"] * 2
    readable = pd.DataFrame({"review": texts, "score": ["great", "great", "great", "other", "other", "other"] * 2})
    _scripted_generation(monkeypatch, {"'great'": "so good, I liked it", "'other'": "good but pricey"})
    config = _config(rows=2, sequences_per_prompt=1, near_duplicate_threshold=1.1, top_up=False)

    result = synthesize_text(readable, config, model_dir=tiny_model, embedder=_clusters)
    assert result.label_check["mode"] == "auto" and result.label_check["applied"] is True
    assert result.label_check["checker_balanced_accuracy"] == 1.0 and result.label_check["agreement"] == 0.5
    assert result.data[["review", "score"]].values.tolist() == [["so good, I liked it", "great"]]

    # Labels that the embeddings do not separate: the checker is at chance, so nothing is dropped on its word.
    unreadable = readable.assign(score=["great", "other"] * 3 + ["other", "great"] * 3)
    result = synthesize_text(unreadable, config, model_dir=tiny_model, embedder=_clusters)
    assert result.label_check["applied"] is False and "label_disagrees" not in result.dropped
    assert len(result.data) == 2
    report = text_report(unreadable, result.data, "review", "score", result)
    assert report["label_check"] == result.label_check and set(report["embedding_spread"]) == {"synthetic", "real"}


def test_embedding_spread_is_zero_for_one_text_repeated_and_one_for_orthogonal_texts():
    assert text_engine.embedding_spread(np.array([[1.0, 0.0]] * 4)) == 0.0
    assert text_engine.embedding_spread(np.eye(3)) == 1.0
