import re

import numpy as np
import pandas as pd
import pytest

from synthesis.formats import NumberFormat, number_format, parse_number, read_numbers, write_numbers
from synthesis.tabular import TabularConfig, synthesize_table


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["$1,250.00", "$12.50", "-$3,000.10"], NumberFormat("$", "", True, 2)),
        (["12%", "3%", "45%"], NumberFormat("", "%", False, 0)),
        (["45 kg", "3 kg", "12.5 kg"], NumberFormat("", " kg", False, 1)),
        (["¥1,200", "¥300", "¥45"], NumberFormat("¥", "", True, 0)),
        (["1,200元", "300元", "45元"], NumberFormat("", "元", True, 0)),
        (["US$ 1,000", "US$ 20", "US$ 3"], NumberFormat("US$ ", "", True, 0)),
    ],
)
def test_numbers_written_as_text_are_read_with_their_format_and_written_back_alike(values, expected):
    column = pd.Series(values * 2 + [None])

    assert number_format(column) == expected
    frame, formats = read_numbers(pd.DataFrame({"x": column}))
    assert frame["x"].dtype == float and frame["x"].isna().sum() == 1
    assert write_numbers(frame, formats)["x"].tolist()[:3] == [expected.write(v) for v in frame["x"].tolist()[:3]]
    assert set(write_numbers(frame, formats)["x"].dropna()) == set(values) or expected.decimals  # 3 kg -> 3.0 kg


@pytest.mark.parametrize(
    "values",
    [
        ["02139", "10001", "94110"],  # postcodes: bare digits, one with a leading zero
        ["1", "2", "3"],  # bare digits as text: a code
        ["12%", "n/a", "3%"],  # not every value is a number
        ["$12", "€14", "$3"],  # two currencies in one column
        ["a1", "b2", "c3"],
        ["1.234,50 €", "3,10 €", "7,00 €"],  # a decimal comma is not read
        ["SKU1001", "SKU1002", "SKU1003"],  # a code's letters are no currency: it stays a key
        ["ID-2041", "ID-2042", "ID-2043"],
        ["1,200元", "300元", "45万元"],  # two units
    ],
)
def test_text_that_is_not_one_number_format_stays_text(values):
    assert number_format(pd.Series(values * 2)) is None


def test_money_and_rates_written_as_text_are_synthesized_as_numbers_not_replaced_by_keys():
    """Before, a price column written "$1,234.50" was a key to the synthesizers (its values nearly all differ) and
    every synthetic row got "syn-0000005": the amounts, and what they predict, were gone."""
    rng = np.random.default_rng(0)
    n = 600
    price = rng.uniform(20, 2000, n).round(2)
    rate = rng.integers(1, 30, n)
    real = pd.DataFrame(
        {
            "price": [f"${v:,.2f}" for v in price],
            "discount": [f"{v}%" for v in rate],
            "tier": np.where(price + rng.normal(0, 200, n) > 1000, "premium", "standard"),
        }
    )

    result = synthesize_table(real, TabularConfig(method="cart", rows=300, target="tier"))

    prices = result.data["price"]
    assert prices.map(lambda v: re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", v) is not None).all()
    assert result.data["discount"].str.fullmatch(r"\d+%").all()
    amounts = prices.str.replace("[$,]", "", regex=True).astype(float)
    assert 20 <= amounts.min() and amounts.max() <= 2000 and amounts.nunique() > 100
    premium = amounts[result.data["tier"] == "premium"].mean() - amounts[result.data["tier"] == "standard"].mean()
    assert premium > 500  # the tier still follows the price (real: about 1,000 apart)
    # The report judges numbers: the training rows and the rows it scores hold them as such.
    assert all(pd.api.types.is_float_dtype(rows["price"]) for rows in (result.train, result.evaluation_data))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("$1,500", 1500.0), ("-$2.50", -2.5), ("3%", 3.0), ("45 kg", 45.0), ("1,200元", 1200.0), ("RMB 30", 30.0)],
)
def test_one_value_in_a_recognised_format_is_read_as_its_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["SKU1001", "ID-2041", "12 apples and 3 pears", "about 5", "", "n/a"])
def test_one_value_that_is_a_code_or_words_is_no_number(text):
    assert parse_number(text) is None
