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
    window = recent_events(items, feedback, dwell, lengths, max_len)
    return window, lengths > max_len


def model_inputs(variant: Variant, items, feedback, dwell, lengths, max_len: int, device):
    """Tensors (items, feedback, dwell, lengths) for ``model.forward``, variant applied."""
    (items, feedback, dwell, lengths), _ = model_window(
        variant, items, feedback, dwell, lengths, max_len
    )
    return as_tensors(items, feedback, dwell, lengths, device)


def as_tensors(items, feedback, dwell, lengths, device):
    """Numpy model inputs as the tensors ``model.forward`` takes (long, long, float32, long)."""
    return (
        torch.as_tensor(items, dtype=torch.long, device=device),
        torch.as_tensor(feedback, dtype=torch.long, device=device),
        torch.as_tensor(dwell, dtype=torch.float32, device=device),
        torch.as_tensor(lengths, dtype=torch.long, device=device),
    )


@torch.inference_mode()
def last_state_logits(
    model: SequentialRecommender, variant: Variant, items, feedback, dwell, lengths, device="cpu"
) -> torch.Tensor:
    """Logits (N, n_items) of the state after each history's last event; model in eval mode."""
    inputs = model_inputs(variant, items, feedback, dwell, lengths, model.config.max_len, device)
    return model.logits(model.last_state(*inputs))
