"""One torch intra-op thread for a block of work on tiny tensors.

There thread hand-offs cost far more than the arithmetic (20x slower measured
on a busy 2-core machine for the loss-gradient study), and spinning threads
crawl when other processes hold the cores.
"""

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
