import numpy as np
import pandas as pd
import pytest

from synthesis.llm import tiny_llama_dir
from synthesis.tabular import Cancelled
from synthesis.text import TextConfig, near_duplicates, synthesize_text, text_report

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
    with pytest.raises(Cancelled):
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
