"""One torch thread for test modules of tiny models: threads gain nothing there, and
spinning threads crawl on a busy CPU."""

from contextlib import contextmanager

import torch


@contextmanager
def one_torch_thread():
    """Run the block with ``torch.set_num_threads(1)``, restoring the count after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
