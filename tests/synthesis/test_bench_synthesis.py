import io
import json

import pytest
from django.core.management import CommandError, call_command


def test_a_table_named_on_the_command_line_with_a_target_it_lacks_is_refused_before_any_work():
    with pytest.raises(CommandError, match=r"datasets/iris has no column 'nope'; its columns: Sepal.Length"):
        call_command("bench_synthesis", datasets="datasets/iris:nope", text=False)


def test_an_unknown_named_method_is_refused_before_any_work():
    with pytest.raises(CommandError, match=r"Unknown method\(s\) nope; known: cart"):
        call_command("bench_synthesis", datasets="datasets/iris", methods="cart,nope", text=False)


def test_named_methods_are_scored_as_a_buyer_gets_them_with_their_privacy_figures():
    out = io.StringIO()
    call_command(
        "bench_synthesis", datasets="datasets/iris:Species", methods="cart", budget=1, epochs=1, text=False, stdout=out
    )
    line = json.loads(out.getvalue().splitlines()[0])
    cart = line["methods"]["cart"]
    # The delivered rows against the outer holdout they never saw, as auto's line is scored.
    assert {"quality", "tstr", "dcr_share", "exact_copy_rate", "membership_inference_auc"} <= set(cart)
    assert cart["tstr"]["target"] == "Species"
    assert 0 <= cart["dcr_share"] <= 1 and 0 <= cart["membership_inference_auc"] <= 1
    assert 0 < cart["guard_dcr_share"] <= 1  # what the guard measured before delivering
