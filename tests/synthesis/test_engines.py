import numpy as np
import pandas as pd
import pytest

from synthesis.evaluation import dcr_share, evaluate, exact_copy_rate, quality
from synthesis.tabular import Cancelled, TabularConfig, synthesize_table


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    age = rng.integers(18, 80, n)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "age": age,
            "income": np.round(rng.lognormal(10, 1, n), 2),
            "plan": rng.choice(["basic", "plus", "premium"], n, p=[0.6, 0.3, 0.1]),
            "children": rng.integers(0, 4, n),
            "churned": (age + rng.normal(0, 10, n) > 55),
        }
    )


def test_identical_distributions_give_quality_near_one_and_dcr_share_near_half(table):
    a, b, c = table.iloc[:100], table.iloc[100:200], table.iloc[200:]
    assert quality(table, table)["overall"] > 0.99
    assert abs(dcr_share(a, b, c) - 0.5) <= 0.12


def test_copies_of_training_rows_are_caught(table):
    train, holdout = table.iloc[:150], table.iloc[150:]
    assert dcr_share(train, holdout, train) == 1.0
    assert exact_copy_rate(train, train) == 1.0 and exact_copy_rate(train, holdout) == 0.0


def test_gaussian_copula_keeps_columns_types_and_unique_ids(table):
    result = synthesize_table(table, TabularConfig(method="gaussian_copula", rows=120))

    assert list(result.data.columns) == list(table.columns) and len(result.data) == 120
    assert result.data["customer_id"].is_unique
    assert set(result.data["plan"].dropna()) <= {"basic", "plus", "premium"}
    assert result.data["children"].dropna().isin([0, 1, 2, 3]).all()
    assert (result.data["income"].dropna() >= 0).all()


def test_auto_scores_candidates_and_explains_the_choice(table):
    result = synthesize_table(
        table, TabularConfig(method="auto", rows=100, allowed=("gaussian_copula", "gaussian_copula_truncnorm"))
    )
    scored = [c for c in result.candidates if "quality" in c]
    assert {c["method"] for c in scored} == {"gaussian_copula", "gaussian_copula_truncnorm"}
    assert result.method == max(scored, key=lambda c: c["quality"])["method"]
    assert result.reason.startswith(f"{result.method} scored")


def test_report_has_quality_privacy_and_efficacy(table):
    result = synthesize_table(table, TabularConfig(method="gaussian_copula", rows=150))
    report = evaluate(
        result.train.astype({"churned": object}),
        result.holdout.astype({"churned": object}),
        result.evaluation_data.astype({"churned": object}),
        target="churned",
    ).to_dict()
    assert 0.5 < report["quality"]["overall"] <= 1 and report["quality"]["sdmetrics_version"]
    assert 0 <= report["dcr_share"] <= 1 and report["exact_copy_rate"] < 0.05
    assert set(report["ml_efficacy"]) == {"target", "train_real_accuracy", "train_synthetic_accuracy"}
    assert set(report["distributions"]) == set(table.columns)
    pairs = report["quality"]["pair_trends"]
    assert pairs["columns"] == list(table.columns)
    assert all(pairs["scores"][i][j] == pairs["scores"][j][i] for i in range(6) for j in range(6))
    scored = [pairs["scores"][i][j] for i in range(6) for j in range(i + 1, 6) if pairs["scores"][i][j] is not None]
    assert scored and all(0 <= score <= 1 for score in scored)


def test_report_sample_comes_from_a_fit_that_never_saw_the_holdout(table):
    result = synthesize_table(table, TabularConfig(method="gaussian_copula", rows=40, holdout_fraction=0.25))

    assert len(result.train) == 225 and len(result.holdout) == 75 and len(result.data) == 40
    assert len(result.evaluation_data) == 75 and list(result.evaluation_data.columns) == list(table.columns)
    assert set(result.train["customer_id"]).isdisjoint(result.holdout["customer_id"])


def test_cancel_stops_auto_before_the_next_candidate(table):
    with pytest.raises(Cancelled):
        synthesize_table(table, TabularConfig(method="auto", rows=10), should_cancel=lambda: True)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (TabularConfig(method="nope"), "Unknown method"),
        (TabularConfig(method="ctgan", allowed=("gaussian_copula",)), "not enabled"),
    ],
)
def test_bad_requests_fail_with_clear_messages(table, config, message):
    with pytest.raises(ValueError, match=message):
        synthesize_table(table, config)


def test_tabular_argn_keeps_columns_types_and_unique_ids(table):
    # MOSTLY AI's Apache-2.0 engine: a few seconds of training are enough to check the round trip.
    config = TabularConfig(method="tabular_argn", rows=80, epochs=2, argn_max_minutes=0.05)
    result = synthesize_table(table, config)

    assert list(result.data.columns) == list(table.columns) and len(result.data) == 80
    assert result.data["customer_id"].is_unique
    assert set(result.data["plan"].dropna()) <= {"basic", "plus", "premium"}
    assert result.data["children"].dropna().isin([0, 1, 2, 3]).all()
    assert set(result.data["churned"].dropna()) <= {True, False}
    assert str(result.data["age"].dtype) == "Int64"


def test_mass_variant_keeps_a_point_mass_and_missing_values_where_a_copula_smears_them():
    rng = np.random.default_rng(1)
    n = 400
    debt = np.where(rng.random(n) < 0.8, 0.0, np.round(rng.lognormal(7, 1, n), 0))
    debt[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({"debt": debt, "age": rng.integers(18, 80, n), "plan": rng.choice(["a", "b"], n)})

    mass = synthesize_table(frame, TabularConfig(method="gaussian_copula_mass", rows=400)).data
    plain = synthesize_table(frame, TabularConfig(method="gaussian_copula", rows=400)).data

    real_zero_share = (frame["debt"] == 0).mean()
    assert abs((mass["debt"] == 0).mean() - real_zero_share) < 0.08
    assert abs(mass["debt"].isna().mean() - frame["debt"].isna().mean()) < 0.06
    assert (mass["debt"].dropna() >= 0).all() and list(mass.columns) == list(frame.columns)
    assert (plain["debt"] == 0).mean() < real_zero_share - 0.2  # what the mass variant is for
