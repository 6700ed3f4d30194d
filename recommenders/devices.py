"""Which torch device a model may run on, checked before any work."""

from __future__ import annotations


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
