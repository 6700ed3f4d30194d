"""How much memory a device has, and a one-line refusal of work that cannot fit in it.

Allocating first and failing later costs minutes and can take the machine down
(the kernel's out-of-memory killer, or an OpenMP abort) instead of giving an
error; so the training code compares an upper estimate of what it will hold
with the device's total memory before it allocates.
"""

from __future__ import annotations

import os

import torch

GIB = 2**30


def device_memory_bytes(device: str | torch.device = "cpu") -> int | None:
    """Total memory of ``device`` in bytes: the machine's physical memory for the CPU, the
    card's for CUDA; None where the platform does not say."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(needed: int, what: str, device: str | torch.device = "cpu") -> None:
    """A one-line ValueError when ``needed`` bytes exceed ``device``'s memory; ``what``
    completes "... needs about N GiB" (for example "a batch of 128 windows of 50 events")."""
    available = device_memory_bytes(device)
    if available is not None and needed > available:
        raise ValueError(
            f"{what} needs about {needed / GIB:,.1f} GiB; this machine's {torch.device(device)} "
            f"has {available / GIB:,.1f} GiB"
        )
