"""Suite-wide settings.

Under pytest-xdist every worker is a process with torch's default intra-op
thread count (one per core), so ``-n auto`` would run cores x cores spinning
threads on cores cores; torch's OpenMP threads crawl when oversubscribed
(https://pytorch.org/docs/stable/notes/cpu_threading_torchscript_inference.html).
Each worker gets its share of the cores instead.
"""

from __future__ import annotations

import os

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _torch_threads_per_worker():
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
        yield
        torch.set_num_threads(threads)
    else:
        yield
