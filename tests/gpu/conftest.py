"""The CUDA tests: collected only when TESSERA_GPU_TESTS=1, which `make gpu-check` (`manage.py gpu_check`) sets on a
machine with a GPU. They are not part of the CPU suite: nothing there depends on a GPU, and nothing here is
skipped to pass."""

import os

collect_ignore_glob = [] if os.environ.get("TESSERA_GPU_TESTS") == "1" else ["test_*.py"]
