import numpy as np
import pandas as pd
import pytest
import torch

from training.data import (
    IGNORE_INDEX,
    MixPart,
    PackedRow,
    SftExample,
    encode_sft,
    pack,
    packed_batches,
    padded_batches,
    prepare_mix,
    real_only,
    synthetic_scaled,
)
from training.registry import BASE_MODELS, load_causal_lm


@pytest.fixture(scope="module")
def llama(model_cache):
    tokenizer, model = load_causal_lm(BASE_MODELS["tiny-random-llama"], model_cache)
    return tokenizer, model.eval()


def test_evaluation_never_sees_synthetic_rows():
    real = pd.DataFrame({"text": [f"real {i}" for i in range(20)], "label": ["a", "b"] * 10})
    synthetic = pd.DataFrame({"text": [f"synthetic {i}" for i in range(40)], "label": ["a", "b"] * 20})
    data = prepare_mix([MixPart(real, 1.0, False, 1), MixPart(synthetic, 1.0, True, 2)], holdout_fraction=0.25)

    assert data.evaluation["text"].str.startswith("real").all() and len(data.evaluation) == 5
    assert not set(data.evaluation["text"]) & set(data.train["text"])
    assert data.rows_per_version == {1: 15, 2: 15} and data.synthetic_versions == {2}


def test_weights_set_the_share_of_training_rows():
    real = pd.DataFrame({"text": [f"r{i}" for i in range(40)], "label": ["a"] * 40})
    synthetic = pd.DataFrame({"text": [f"s{i}" for i in range(100)], "label": ["a"] * 100})
    data = prepare_mix(
        [MixPart(real, 1.0, False, 1), MixPart(synthetic, 3.0, True, 2)], holdout_fraction=0.0, evaluation=real.head(5)
    )
    assert data.rows_per_version == {1: 33, 2: 100}
    assert (data.train["_version"] == 2).sum() == 100


def test_the_same_seed_samples_the_same_rows_and_another_seed_does_not():
    frame = pd.DataFrame({"text": [f"r{i}" for i in range(50)], "label": ["a"] * 50})
    first = prepare_mix([MixPart(frame, 1.0, False, 1)], holdout_fraction=0.2, seed=3)
    again = prepare_mix([MixPart(frame, 1.0, False, 1)], holdout_fraction=0.2, seed=3)
    other = prepare_mix([MixPart(frame, 1.0, False, 1)], holdout_fraction=0.2, seed=4)
    assert first.train["text"].tolist() == again.train["text"].tolist()
    assert first.evaluation["text"].tolist() != other.evaluation["text"].tolist()


def test_real_only_baseline_keeps_the_real_training_rows_and_the_evaluation_rows():
    real = pd.DataFrame({"text": [f"real {i}" for i in range(20)], "label": ["a", "b"] * 10})
    synthetic = pd.DataFrame({"text": [f"synthetic {i}" for i in range(40)], "label": ["a", "b"] * 20})
    data = prepare_mix([MixPart(real, 1.0, False, 1), MixPart(synthetic, 1.0, True, 2)], holdout_fraction=0.25)
    baseline = real_only(data)
    assert sorted(baseline.train["text"]) == sorted(t for t in data.train["text"] if t.startswith("real"))
    assert baseline.evaluation is data.evaluation and baseline.rows_per_version == {1: 15, 2: 0}


def test_synthetic_only_mix_without_an_evaluation_set_is_refused():
    synthetic = pd.DataFrame({"text": ["s"] * 10, "label": ["a"] * 10})
    with pytest.raises(ValueError, match="Evaluation needs real rows"):
        prepare_mix([MixPart(synthetic, 1.0, True, 2)], holdout_fraction=0.2)


def test_completion_only_labels_mask_the_prompt_and_keep_the_completion_with_eos(llama):
    tokenizer, _ = llama
    [example] = encode_sft(tokenizer, ["review this"], ["great product"], max_length=64)
    completion = tokenizer("great product", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    prompt_length = len(example.input_ids) - len(completion)

    assert example.input_ids[prompt_length:] == completion
    assert example.labels == [IGNORE_INDEX] * prompt_length + completion
    assert example.input_ids[0] == tokenizer.bos_token_id


def test_long_examples_keep_the_end_of_the_prompt_and_at_least_half_the_window_for_the_completion(llama):
    tokenizer, _ = llama
    [example] = encode_sft(tokenizer, ["the support team " * 40], ["works well " * 40], max_length=32)
    kept = [label for label in example.labels if label != IGNORE_INDEX]
    assert len(example.input_ids) == 32 and len(kept) == 16
    assert example.input_ids[15] == tokenizer(tokenizer.bos_token + "\n", add_special_tokens=False)["input_ids"][-1]


def test_packing_fills_the_fullest_row_that_fits_and_restarts_positions_at_each_example():
    examples = [
        SftExample([1, 2, 3], [-100, 2, 3]),
        SftExample([4, 5], [-100, 5]),
        SftExample([6, 7, 8, 9], [-100] * 4),
    ]
    rows = pack(examples, max_length=6)
    # Longest first: [6..9] opens a row with 2 free, [1, 2, 3] does not fit there and opens another, [4, 5] fills
    # the first exactly (in order it would have joined [1, 2, 3] and left both rows short).
    assert [row.input_ids for row in rows] == [[4, 5, 6, 7, 8, 9], [1, 2, 3]]
    assert [row.position_ids for row in rows] == [[0, 1, 0, 1, 2, 3], [0, 1, 2]]
    assert rows[0].labels == [-100, 5, -100, -100, -100, -100]

    [batch] = packed_batches(rows, batch_size=2, pad_id=0, seed=0)
    by_first_token = {int(row[0]): index for index, row in enumerate(batch["input_ids"])}
    short = by_first_token[1]
    assert batch["input_ids"][short].tolist() == [1, 2, 3, 0, 0, 0]
    assert batch["labels"][short].tolist() == [-100, 2, 3, -100, -100, -100]
    assert batch["position_ids"][short].tolist() == [0, 1, 2, 0, 1, 2]
    assert batch["token_mask"].sum().item() == 9


def test_packing_keeps_every_example_once_and_needs_no_more_rows_than_filling_in_order():
    rng = np.random.default_rng(0)
    examples = [SftExample(list(range(n)), [-100] * n) for n in rng.integers(10, 70, size=200)]
    rows = pack(examples, max_length=128)

    assert sorted(len(e.input_ids) for e in examples) == sorted(
        len(segment) for row in rows for segment in _segments(row.position_ids)
    )
    assert all(len(row.input_ids) <= 128 for row in rows)
    in_order, used = 1, 0
    for example in examples:
        if used + len(example.input_ids) > 128:
            in_order, used = in_order + 1, 0
        used += len(example.input_ids)
    assert len(rows) <= in_order


def _segments(positions: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for p in positions:
        if p == 0:
            out.append([])
        out[-1].append(p)
    return out


def test_a_packed_row_gives_each_example_the_logits_it_gets_alone(llama):
    tokenizer, model = llama
    examples = encode_sft(
        tokenizer, ["great product", "the support"], ["works well", "terrible quality"], max_length=64
    )
    [row] = pack(examples, max_length=64)
    [batch] = packed_batches([row], batch_size=1, pad_id=tokenizer.pad_token_id, seed=0)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone = [model(input_ids=torch.tensor([e.input_ids]), use_cache=False).logits[0] for e in examples]
    assert torch.allclose(packed, torch.cat(alone), atol=1e-5)


def test_unpacked_batches_pad_on_the_right_with_ignored_labels():
    examples = [SftExample([1, 2, 3], [-100, 2, 3]), SftExample([4, 5], [-100, 5])]
    [batch] = padded_batches(examples, batch_size=2, pad_id=0, seed=0)
    rows = sorted(
        zip(batch["input_ids"].tolist(), batch["labels"].tolist(), batch["attention_mask"].tolist(), strict=True)
    )
    assert rows == [([1, 2, 3], [-100, 2, 3], [1, 1, 1]), ([4, 5, 0], [-100, 5, -100], [1, 1, 0])]


def test_grouping_by_length_puts_rows_of_similar_length_in_a_batch_and_keeps_every_row_once():
    from transformers import AutoTokenizer

    from synthesis.llm import minilm_dir
    from training.data import classification_batches

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    texts = [("word " * (1 + (i * 7) % 30)).strip() for i in range(64)]
    grouped = classification_batches(tokenizer, texts, list(range(64)), batch_size=8, max_length=64, seed=0)
    plain = classification_batches(
        tokenizer, texts, list(range(64)), batch_size=8, max_length=64, seed=0, group_by_length=False
    )

    def padding(batches):
        return sum(int((b["attention_mask"] == 0).sum()) for b in batches)

    assert sorted(int(x) for b in grouped for x in b["labels"]) == list(range(64))
    assert padding(grouped) < padding(plain) / 4


def test_packed_rows_of_similar_length_share_a_batch_and_every_row_is_kept_once():
    # Rows of 40 and 60 tokens in alternation, as best-fit leaves them; each row's first token names it.
    rows = [
        PackedRow([i] + [7] * (39 + 20 * (i % 2)), [IGNORE_INDEX] * (40 + 20 * (i % 2)), list(range(40 + 20 * (i % 2))))
        for i in range(16)
    ]
    batches = packed_batches(rows, batch_size=4, pad_id=0, seed=0)

    assert sorted(int(b["input_ids"][r, 0]) for b in batches for r in range(len(b["input_ids"]))) == list(range(16))
    assert sum(int((b["token_mask"] == 0).sum()) for b in batches) == 0


def test_validation_rows_are_real_rows_apart_from_training_and_evaluation():
    real = pd.DataFrame({"text": [f"real {i}" for i in range(40)], "label": ["a", "b"] * 20})
    synthetic = pd.DataFrame({"text": [f"synthetic {i}" for i in range(80)], "label": ["a", "b"] * 40})
    data = prepare_mix(
        [MixPart(real, 1.0, False, 1), MixPart(synthetic, 1.0, True, 2)],
        holdout_fraction=0.25,
        validation_fraction=0.2,
    )

    assert len(data.evaluation) == 10 and len(data.validation) == 6
    assert data.validation["text"].str.startswith("real").all() and "_version" not in data.validation
    seen = [set(data.train["text"]), set(data.evaluation["text"]), set(data.validation["text"])]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert data.rows_per_version == {1: 24, 2: 24}


def test_too_few_real_rows_keep_every_row_for_training():
    real = pd.DataFrame({"text": [f"real {i}" for i in range(20)], "label": ["a", "b"] * 10})
    data = prepare_mix([MixPart(real, 1.0, False, 1)], holdout_fraction=0.25, validation_fraction=0.2)
    assert data.validation.empty and len(data.train) == 15


def test_a_scaled_mix_keeps_every_real_row_and_that_share_of_the_synthetic_ones():
    real = pd.DataFrame({"text": [f"real {i}" for i in range(40)], "label": ["a", "b"] * 20})
    synthetic = pd.DataFrame({"text": [f"synthetic {i}" for i in range(80)], "label": ["a", "b"] * 40})
    data = prepare_mix(
        [MixPart(real, 1.0, False, 1), MixPart(synthetic, 2.0, True, 2)],
        holdout_fraction=0.25,
        validation_fraction=0.2,
    )
    half = synthetic_scaled(data, 0.5)

    assert data.rows_per_version == {1: 24, 2: 48} and half.rows_per_version == {1: 24, 2: 24}
    assert (half.train["_version"] == 2).sum() == 24 and (half.train["_version"] == 1).sum() == 24
    assert set(half.train["text"]) <= set(data.train["text"])
    assert half.validation.equals(data.validation) and half.evaluation.equals(data.evaluation)
    assert synthetic_scaled(data, 0).rows_per_version == {1: 24, 2: 0}


def test_a_synthetic_share_must_beat_real_rows_by_more_than_the_validation_noise():
    from training.mixing import choose_share, noise_margin

    real = {"accuracy": 0.75, "loss": 0.5}
    # On 8 validation rows one more right answer (0.125) is within the noise (about 0.22): real rows alone stay.
    assert round(noise_margin(real, 8), 3) == 0.217
    lucky = {1.0: {"accuracy": 0.875, "loss": 0.45}, 0.5: {"accuracy": 0.75, "loss": 0.4}, 0.0: real}
    assert choose_share(lucky, rows=8) == 0.0
    # On 400 rows the same gain is far beyond the noise (about 0.03); the best share past the margin wins.
    clear = {1.0: {"accuracy": 0.86, "loss": 0.45}, 0.5: {"accuracy": 0.875, "loss": 0.4}, 0.25: {**real}, 0.0: real}
    assert choose_share(clear, rows=400) == 0.5
    # Causal-LM: lower validation loss by more than 1%.
    lm = {1.0: {"loss": 2.0}, 0.5: {"loss": 2.01}, 0.0: {"loss": 2.02}}
    assert choose_share(lm, rows=50) == 0.0 and choose_share({**lm, 1.0: {"loss": 1.9}}, rows=50) == 1.0


def test_a_synthetic_share_is_believed_on_a_few_rows_when_its_loss_is_lower_row_by_row_beyond_the_noise():
    from training.mixing import choose_share, paired_gain

    real = {"accuracy": 0.75, "loss": 0.5}
    same_accuracy = {"accuracy": 0.75, "loss": 0.42}
    # Ten validation rows: the share's loss is lower on nearly every row, by a steady amount.
    real_rows = [0.3, 0.9, 0.2, 0.6, 0.4, 0.8, 0.5, 0.3, 0.7, 0.3]
    better_rows = [x - 0.08 + 0.01 * (i % 3) for i, x in enumerate(real_rows)]
    gain = paired_gain(real_rows, better_rows)
    assert gain["mean"] > gain["standard_error"] > 0 and gain["rows"] == 10
    best = {1.0: same_accuracy, 0.5: same_accuracy, 0.25: same_accuracy, 0.0: real}
    losses = {1.0: better_rows, 0.5: real_rows, 0.25: real_rows, 0.0: real_rows}
    assert choose_share(best, rows=10, row_losses=losses) == 1.0
    # The unpaired rule would have kept real rows alone: equal accuracies are within the noise.
    assert choose_share(best, rows=10) == 0.0
    # A lower mean loss that comes from one row (the others worse) is noise: real rows alone stay.
    one_lucky = [x + 0.02 for x in real_rows[:-1]] + [real_rows[-1] - 0.5]
    assert paired_gain(real_rows, one_lucky)["mean"] > 0
    assert choose_share(best, rows=10, row_losses={**losses, 1.0: one_lucky}) == 0.0
    # Do no harm: a lower loss with fewer right answers on validation is not delivered.
    worse_accuracy = {**best, 1.0: {"accuracy": 0.7, "loss": 0.42}}
    assert choose_share(worse_accuracy, rows=10, row_losses=losses) == 0.0


def test_on_fewer_validation_rows_than_the_paired_minimum_the_accuracy_margin_decides():
    from training.mixing import PAIRED_MIN_ROWS, choose_share, paired_gain

    real_rows = [0.3, 0.9, 0.2, 0.6, 0.4]
    better_rows = [x - 0.1 for x in real_rows]  # lower on every row
    assert len(real_rows) < PAIRED_MIN_ROWS and paired_gain(real_rows, better_rows) is None
    same = {"accuracy": 0.8, "loss": 0.4}
    best = {1.0: same, 0.5: same, 0.25: same, 0.0: {"accuracy": 0.8, "loss": 0.5}}
    losses = {1.0: better_rows, 0.5: real_rows, 0.25: real_rows, 0.0: real_rows}
    assert choose_share(best, rows=5, row_losses=losses) == 0.0
