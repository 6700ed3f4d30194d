"""From right-padded history arrays to model scores, alike in training, evaluation and serving.

The variant's input transform (drop disliked events for ``exclude_disliked``)
is applied first, then each history is cut to its most recent ``max_len``
events, then the model computes the user state s after the last event and
the logits s . v_j over the whole corpus.
"""

from __future__ import annotations

import numpy as np
import torch

from recommenders.history import PAD, Feedback
from recommenders.models import SequentialRecommender
from recommenders.sequences import drop_events
from recommenders.variants import Variant


def recent_events(items, feedback, dwell, lengths, max_len: int):
    """The most recent ``max_len`` events of right-padded arrays (width <= max_len)."""
    lengths = np.asarray(lengths, np.int64)
    kept = np.minimum(lengths, max_len)
    width = int(kept.max()) if len(kept) else 0
    offsets = np.arange(width)
    valid = offsets < kept[:, None]
    cols = np.where(valid, (lengths - kept)[:, None] + offsets, 0)
    if items.shape[1] == 0:
        cols = np.zeros((len(lengths), 0), np.int64)
    return (
        np.where(valid, np.take_along_axis(items, cols, 1), PAD),
        np.where(valid, np.take_along_axis(feedback, cols, 1), PAD),
        np.where(valid, np.take_along_axis(dwell, cols, 1), np.nan),
        kept,
    )


def model_window(variant: Variant, items, feedback, dwell, lengths, max_len: int):
    """The model's numpy inputs ``(items, feedback, dwell, lengths)``, variant applied and
    cut to the most recent ``max_len`` events, and a bool (N,) mask of the rows so cut."""
    items, feedback, dwell = np.asarray(items), np.asarray(feedback), np.asarray(dwell)
    lengths = np.asarray(lengths, np.int64)
    if variant.exclude_disliked_input:
        items, feedback, dwell, lengths = drop_events(
            items, feedback, dwell, lengths, int(Feedback.DISLIKE)
        )
    longer = lengths > max_len
    if not longer.any():
        # Every history fits: the window is the batch without its empty columns.
        width = int(lengths.max()) if len(lengths) else 0
        return (items[:, :width], feedback[:, :width], dwell[:, :width], lengths), longer
    window = recent_events(items, feedback, dwell, lengths, max_len)
    return window, longer


def model_inputs(variant: Variant, items, feedback, dwell, lengths, max_len: int, device):
    """Tensors (items, feedback, dwell, lengths) for ``model.forward``, variant applied."""
    (items, feedback, dwell, lengths), _ = model_window(
        variant, items, feedback, dwell, lengths, max_len
    )
    return as_tensors(items, feedback, dwell, lengths, device)


def as_tensor(array: np.ndarray, dtype: torch.dtype, device) -> torch.Tensor:
    """``array`` as a tensor, sharing its memory where torch may write to it.

    A read-only array (a history batch's) is copied: a tensor sharing it could be
    written through, which torch warns about and numpy forbids.
    """
    if isinstance(array, np.ndarray) and not array.flags.writeable:
        return torch.tensor(array, dtype=dtype, device=device)
    return torch.as_tensor(array, dtype=dtype, device=device)


def as_tensors(items, feedback, dwell, lengths, device):
    """Numpy model inputs as the tensors ``model.forward`` takes (long, long, float32, long)."""
    return (
        as_tensor(items, torch.long, device),
        as_tensor(feedback, torch.long, device),
        as_tensor(dwell, torch.float32, device),
        as_tensor(lengths, torch.long, device),
    )


@torch.inference_mode()
def last_state_logits(
    model: SequentialRecommender, variant: Variant, items, feedback, dwell, lengths, device="cpu"
) -> torch.Tensor:
    """Logits (N, n_items) of the state after each history's last event; model in eval mode."""
    inputs = model_inputs(variant, items, feedback, dwell, lengths, model.config.max_len, device)
    return model.logits(model.last_state(*inputs))
