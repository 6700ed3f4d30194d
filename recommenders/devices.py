"""Where a model serves: which torch device it may run on (checked before any work) and
how much memory its incremental state cache may hold."""

from __future__ import annotations

DEFAULT_CACHE_BYTES = 1 << 30
"""Default bound of a sequential model's prefix state cache, in bytes (1 GiB); see
:class:`recommenders.models.incremental.PrefixStateCache`."""


def check_device(device: str) -> str:
    """``device`` unchanged when torch can run on it; else a one-line ValueError.

    Refused: a name torch does not parse (``"tpu"``), and ``cuda``/``cuda:N`` on a
    machine without CUDA.
    """
    import torch  # the adapter contract alone loads without torch

    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {device!r} is not a torch device (cpu, cuda, cuda:N)") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return device
