from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One directory for tiny base models built on the fly (the tiny llama's tokenizer is trained once)."""
    return tmp_path_factory.mktemp("base-models")
