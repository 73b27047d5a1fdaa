import numpy as np
import pandas as pd
import pytest

from marketplace.job_errors import JobCancelled
from synthesis import tabular
from synthesis.evaluation import dcr_share, evaluate, exact_copy_rate, quality
from synthesis.tabular import TabularConfig, synthesize_table


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
    # The DCR guard off: on 150 holdout rows a DCR share can stray 0.07 from 0.5 by chance (tested apart, below).
    config = TabularConfig(
        method="auto", rows=100, allowed=("gaussian_copula", "gaussian_copula_truncnorm"), dcr_share_limit=1.0
    )
    result = synthesize_table(table, config)
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
    with pytest.raises(JobCancelled):
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


@pytest.fixture(scope="module")
def mixed_table() -> pd.DataFrame:
    """Every kind of column CART must carry: identifiers, integers, amounts and strings with missing values,
    nullable booleans, aware and naive datetimes, and an amount whose mean depends on the plan."""
    rng = np.random.default_rng(2)
    n = 600
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2])
    spend = np.round(pd.Series(plan).map({"basic": 10.0, "plus": 50.0, "premium": 200.0}) * rng.lognormal(0, 0.2, n), 2)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "age": rng.integers(18, 80, n),
            "plan": plan,
            "spend": spend.where(rng.random(n) > 0.1),
            "region": pd.Series(rng.choice(["north", "south", "east"], n)).where(rng.random(n) > 0.05),
            "active": pd.array(rng.random(n) < 0.7, dtype="boolean"),
            "signed_up": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 8760, n), unit="h"),
            "seen": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")).where(
                rng.random(n) > 0.1
            ),
        }
    )
    frame.loc[::13, "active"] = pd.NA
    return frame


def test_cart_keeps_columns_types_missing_values_and_unique_ids(mixed_table):
    data = synthesize_table(mixed_table, TabularConfig(method="cart", rows=500)).data

    assert list(data.columns) == list(mixed_table.columns) and len(data) == 500
    assert {name: str(dtype) for name, dtype in data.dtypes.items()} == {
        "customer_id": "Int64",
        "age": "Int64",
        "plan": "object",
        "spend": "Float64",
        "region": "object",
        "active": "boolean",
        "signed_up": "datetime64[ns, UTC]",
        "seen": "datetime64[ns]",
    }
    assert data["customer_id"].is_unique
    assert set(data["plan"]) == {"basic", "plus", "premium"}
    assert set(data["region"].dropna()) == {"north", "south", "east"}
    assert data["age"].between(18, 79).all()
    assert (data["spend"].dropna() == data["spend"].dropna().round(2)).all()  # written like the real amounts
    for name in ("spend", "region", "active", "seen"):
        assert abs(data[name].isna().mean() - mixed_table[name].isna().mean()) < 0.05, name


def test_cart_is_deterministic_for_a_seed(mixed_table):
    first = synthesize_table(mixed_table, TabularConfig(method="cart", rows=200, seed=3)).data
    again = synthesize_table(mixed_table, TabularConfig(method="cart", rows=200, seed=3)).data
    other = synthesize_table(mixed_table, TabularConfig(method="cart", rows=200, seed=4)).data

    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_cart_keeps_the_mean_per_category_that_independent_columns_lose(mixed_table):
    data = synthesize_table(mixed_table, TabularConfig(method="cart", rows=1000)).data
    rng = np.random.default_rng(0)
    # The baseline an independent-columns sampler gives: each column bootstrapped on its own.
    independent = pd.DataFrame({name: rng.choice(mixed_table[name].to_numpy(), 1000) for name in ("plan", "spend")})

    real = mixed_table.groupby("plan")["spend"].mean()
    cart = data.groupby("plan")["spend"].mean().astype(float)
    shuffled = independent.groupby("plan")["spend"].mean()
    cart_error = ((cart - real).abs() / real).max()
    assert cart_error < 0.15
    assert ((shuffled - real).abs() / real).max() > 3 * cart_error


def test_cart_does_not_copy_training_rows(mixed_table):
    result = synthesize_table(mixed_table, TabularConfig(method="cart", rows=300))

    assert exact_copy_rate(result.train, result.evaluation_data) < 0.02
    assert exact_copy_rate(mixed_table, result.data) < 0.02


def _fake_candidates(monkeypatch, scores: dict[str, tuple[float, float]]) -> None:
    """Candidates with set (quality, DCR share): each fake sample carries its method's name in a column."""
    monkeypatch.setattr(tabular, "_fit_sample", lambda name, frame, rows, config: frame.head(rows).assign(plan=name))
    monkeypatch.setattr(
        tabular,
        "quality",
        lambda real, synthetic, metadata: (
            {"overall": scores[synthetic["plan"].iloc[0]][0]}
            | {
                "column_shapes": 0.0,
                "column_pair_trends": 0.0,
            }
        ),
    )
    monkeypatch.setattr(
        tabular, "dcr_share", lambda train, holdout, synthetic, seed: scores[synthetic["plan"].iloc[0]][1]
    )


def test_auto_passes_over_the_best_candidate_when_it_is_too_close_to_its_training_rows(table, monkeypatch):
    _fake_candidates(monkeypatch, {"cart": (0.95, 0.70), "gaussian_copula": (0.85, 0.50), "tvae": (0.80, 0.52)})
    config = TabularConfig(method="auto", rows=20, allowed=("cart", "gaussian_copula", "tvae"), dcr_share_limit=0.55)

    result = synthesize_table(table, config)

    assert result.method == "gaussian_copula"
    assert [(c["method"], c["dcr_share"]) for c in result.candidates] == [
        ("cart", 0.70),
        ("gaussian_copula", 0.50),
        ("tvae", 0.52),
    ]
    assert result.reason == (
        "gaussian_copula scored 0.850 on the holdout (DCR share 0.500), ahead of tvae (0.800); passed over as too "
        "close to its training rows (DCR share above 0.55): cart (0.950, DCR share 0.700)."
    )


def test_auto_takes_the_lowest_dcr_share_when_no_candidate_is_within_the_limit(table, monkeypatch):
    _fake_candidates(monkeypatch, {"cart": (0.95, 0.70), "gaussian_copula": (0.85, 0.60)})
    config = TabularConfig(method="auto", rows=20, allowed=("cart", "gaussian_copula"), dcr_share_limit=0.55)

    result = synthesize_table(table, config)

    assert result.method == "gaussian_copula"
    assert result.reason == (
        "No candidate kept its DCR share at or below 0.55; gaussian_copula has the lowest (0.600) and scored 0.850 "
        "on the holdout."
    )
