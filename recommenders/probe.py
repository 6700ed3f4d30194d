"""How far the feedback on the last event travels inside a sequential model.

Wang et al.'s protocol forks a user after x_k into branches that differ only in the
feedback on x_k (long dwell vs long dwell + dislike) and compares the next slates.
This module looks one step earlier, inside the model: it traces both branches through
the network (:meth:`~recommenders.models.SequentialRecommender.trace`) and reports, per
user and level (the network's input, each layer, the final state s), the relative gap

    gap = ||h_B - h_A|| / ||h_A||        (h at the position after x_k; unitless)

and, for attention models, the weight that the last query puts on x_k's own position,
averaged over heads. A feedback-blind model has gap 0 at every level; a model whose
state moves little although its input moves much is one that mutes the feedback.

How far the state moves is not where it moves. Two more per-user quantities look at
the direction of the final state's change ``d = s_B - s_A`` against the disliked
item's own (tied, output) embedding ``v = v_{x_k}``:

    aim  = cos(d, -v)                          (1: straight away from x_k; 0: sideways)
    drop = -(d . v) / sd_j(s_A . v_j)          (x_k's own score fall, in standard
                                                deviations of branch A's scores)

A state that moves far with ``aim`` near 0 changes the slate little: the scores of
x_k and of the items like it hardly move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recommenders.history import HistoryBatch
from recommenders.inference import as_tensors, model_window
from recommenders.models import SequentialRecommender
from recommenders.variants import Variant


@dataclass(frozen=True)
class BranchGap:
    """Per-user probes of two branches, rows in the batches' order.

    Attributes:
        names: the levels, as :func:`recommenders.models.base.level_names` gives them.
        gap: (N, levels) ``||h_B - h_A|| / ||h_A||`` at each row's last position.
        last_attention: (2, N, layers) weight of the last position's query on its own
            key (x_k) in branch A (index 0) and B (index 1), mean over heads; None for a
            network without attention.
        aim: (N,) ``cos(s_B - s_A, -v_{x_k})`` (0 where the states are equal).
        drop: (N,) x_k's own score fall ``-(s_B - s_A) . v_{x_k}`` over the standard
            deviation of branch A's scores over the catalogue.
        change: (N, dim) the final state's change ``s_B - s_A``.
        spread: (N,) that standard deviation, ``sd_j(s_A . v_j)``.
    """

    names: tuple[str, ...]
    gap: np.ndarray
    last_attention: np.ndarray | None
    aim: np.ndarray
    drop: np.ndarray
    change: np.ndarray
    spread: np.ndarray


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def check_branches(branch_a: HistoryBatch, branch_b: HistoryBatch) -> None:
    """ValueError unless the two batches hold the same users' histories, equal in every
    event but the last (whose item is the same too): a fork of the protocol."""
    if len(branch_a) != len(branch_b) or not np.array_equal(branch_a.lengths, branch_b.lengths):
        raise ValueError("branches must hold histories of the same lengths, row for row")
    if (branch_a.lengths < 1).any():
        raise ValueError("every branch history needs at least one event (x_k)")
    if not np.array_equal(branch_a.items, branch_b.items):
        raise ValueError("branches must hold the same items, row for row")
    before = np.arange(branch_a.width)[None, :] < (branch_a.lengths - 1)[:, None]
    for name in ("feedback", "dwell"):
        a, b = getattr(branch_a, name), getattr(branch_b, name)
        if not _same(np.where(before, a, 0), np.where(before, b, 0)):
            raise ValueError(f"branches differ in {name} before their last event")


@torch.inference_mode()
def branch_gap(
    model: SequentialRecommender,
    variant: Variant,
    branch_a: HistoryBatch,
    branch_b: HistoryBatch,
    device: str = "cpu",
    batch_size: int = 1024,
) -> BranchGap:
    """Trace ``branch_a`` and ``branch_b`` (see :func:`check_branches`) through ``model``
    (eval mode, the variant's input transform and ``max_len`` window applied, as
    served) and return their :class:`BranchGap`."""
    check_branches(branch_a, branch_b)
    model = model.to(device).eval()
    max_len = model.config.max_len
    gaps, attention, aims, drops, changes, spreads = [], [], [], [], [], []
    for start in range(0, len(branch_a), batch_size):
        rows = slice(start, start + batch_size)
        traces = []
        for batch in (branch_a, branch_b):
            (items, feedback, dwell, lengths), _ = model_window(
                variant,
                batch.items[rows],
                batch.feedback[rows],
                batch.dwell[rows],
                batch.lengths[rows],
                max_len,
            )
            inputs = as_tensors(items, feedback, dwell, lengths, device)
            traces.append((model.trace(*inputs), inputs[3], inputs[0]))
        (trace_a, last_a, items_a), (trace_b, last_b, _) = traces
        if not torch.equal(last_a, last_b):
            # exclude_disliked drops the disliked x_k: the branches no longer align.
            raise ValueError(
                f"variant {variant.name!r} gives the branches different inputs lengths; "
                "their states cannot be compared position by position"
            )
        index = torch.arange(len(last_a), device=last_a.device)
        levels = []
        for h_a, h_b in zip(trace_a.levels, trace_b.levels, strict=True):
            a, b = h_a[index, last_a], h_b[index, last_a]
            levels.append((b - a).norm(dim=-1) / a.norm(dim=-1))
        gaps.append(torch.stack(levels, 1).double().cpu().numpy())
        state_a = trace_a.levels[-1][index, last_a]
        change = trace_b.levels[-1][index, last_a] - state_a
        x_k = model.item_embedding.weight[items_a[index, last_a - 1]]
        aims.append(torch.nn.functional.cosine_similarity(change, -x_k, dim=-1))
        spread = model.logits(state_a).std(dim=-1)
        drops.append(-(change * x_k).sum(-1) / spread)
        changes.append(change)
        spreads.append(spread)
        if trace_a.attention is not None:
            attention.append(
                np.stack(
                    [
                        torch.stack(
                            [w[index, :, last_a, last_a].mean(1) for w in trace.attention], 1
                        )
                        .double()
                        .cpu()
                        .numpy()
                        for trace in (trace_a, trace_b)
                    ]
                )
            )
    names = trace_a.names if len(branch_a) else ()
    return BranchGap(
        names=names,
        gap=np.concatenate(gaps) if gaps else np.zeros((0, 0)),
        last_attention=np.concatenate(attention, axis=1) if attention else None,
        aim=_numpy(aims),
        drop=_numpy(drops),
        change=_numpy(changes).reshape(len(branch_a), model.config.dim),
        spread=_numpy(spreads),
    )


def _numpy(parts: list[torch.Tensor]) -> np.ndarray:
    return torch.cat(parts).double().cpu().numpy() if parts else np.zeros(0)
