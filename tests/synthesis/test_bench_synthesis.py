import pytest
from django.core.management import CommandError, call_command


def test_a_table_named_on_the_command_line_with_a_target_it_lacks_is_refused_before_any_work():
    with pytest.raises(CommandError, match=r"datasets/iris has no column 'nope'; its columns: Sepal.Length"):
        call_command("bench_synthesis", datasets="datasets/iris:nope", text=False)
