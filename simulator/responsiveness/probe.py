"""Inside a trained model at the fork: the protocol's branch histories traced through it.

:func:`forked_histories` runs the counterfactual protocol
(:mod:`simulator.responsiveness.simulated`) and keeps the histories each branch sends
for step k+1 (identical but for the feedback on x_k). :func:`probe_table` traces them
through a model with :func:`recommenders.probe.branch_gap` and summarises each level's
relative state gap ``||h_B - h_A|| / ||h_A||`` and the attention on x_k by their means
over users with 95% BCa bootstrap intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommenders.adapters.sequential import SequentialModelAdapter
from recommenders.history import HistoryBatch
from recommenders.probe import BranchGap, branch_gap
from simulator.bootstrap import mean_difference_ci
from simulator.responsiveness.branches import parse_branches
from simulator.responsiveness.simulated import (
    ResponsivenessConfig,
    SlateEvent,
    measure_responsiveness,
)
from simulator.similarity import ItemAttributes, same_content
from simulator.world import AnyWorld


class ForkRecorder:
    """An ``on_slate`` callback of :func:`measure_responsiveness` that keeps the
    histories each branch sends at step k+1, so one protocol run gives both the
    measurement and the probe's inputs."""

    def __init__(self, config: ResponsivenessConfig) -> None:
        self.config = config
        self._kept: dict[int, list[tuple[np.ndarray, HistoryBatch]]] = {}

    def __call__(self, event: SlateEvent) -> None:
        if event.branch is not None and event.step == self.config.k + 1:
            rows = np.arange(len(event.histories))
            self._kept.setdefault(event.branch, []).append(
                (event.users.copy(), event.histories.take(rows))
            )

    def branches(self) -> dict[str, HistoryBatch]:
        """Branch name -> its histories at step k+1, rows by user."""
        names = [action.name for action in parse_branches(self.config.branches)]
        out = {}
        for index, name in enumerate(names):
            users = np.concatenate([u for u, _ in self._kept[index]])
            batch = HistoryBatch.concat([h for _, h in self._kept[index]])
            out[name] = batch.take(np.argsort(users, kind="stable"))
        return out


def forked_histories(
    world: AnyWorld, adapter, config: ResponsivenessConfig
) -> dict[str, HistoryBatch]:
    """Branch name -> the histories (rows by user) each branch sends at step k+1, under
    ``config`` (its slates come from ``adapter``; only the first k steps matter)."""
    recorder = ForkRecorder(config)
    measure_responsiveness(world, adapter, config, summary=False, on_slate=recorder)
    return recorder.branches()


def cluster_fall(
    probe: BranchGap, item_vectors: np.ndarray, x_k: np.ndarray, items: ItemAttributes
) -> np.ndarray:
    """Per user: how much more the scores of x_k's content cluster fall than the rest's.

    With ``fall_j = -(s_B - s_A) . v_j / sd_j(s_A . v_j)`` (standard deviations of
    branch A's scores), the mean fall over the items that share x_k's cluster (x_k
    itself left out: :attr:`BranchGap.drop` has it) minus the mean fall over the other
    items; NaN where x_k's cluster is unknown or has no other item. A positive value is
    a dislike that pushes x_k's whole cluster down the ranking.
    """
    fall = -(probe.change @ np.asarray(item_vectors, np.float64).T) / probe.spread[:, None]
    everything = np.broadcast_to(np.arange(len(item_vectors)), fall.shape)
    similar, known = same_content(everything, x_k, items)
    similar = similar.copy()
    similar[np.arange(len(x_k)), x_k] = False
    other = ~similar
    other[np.arange(len(x_k)), x_k] = False
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = (fall * similar).sum(1) / similar.sum(1)
        outside = (fall * other).sum(1) / other.sum(1)
    return np.where(known & (similar.sum(1) > 0), inside - outside, np.nan)


def probe_rows(
    model: str, probe: BranchGap, seed: int = 0, cluster: np.ndarray | None = None
) -> list[dict]:
    """Long rows (model, quantity, level, mean, ci_low, ci_high, n) of one probe."""
    rows = []

    def add(quantity: str, level: str, values: np.ndarray) -> None:
        values = values[np.isfinite(values)]
        mean, low, high = mean_difference_ci(values, seed=seed)
        rows.append(
            {
                "model": model,
                "quantity": quantity,
                "level": level,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "n": len(values),
            }
        )

    for j, level in enumerate(probe.names):
        add("state_gap", level, probe.gap[:, j])
    add("aim_away_from_x_k", "state", probe.aim)
    add("x_k_score_drop_sd", "state", probe.drop)
    if cluster is not None:
        add("cluster_score_drop_sd", "state", cluster)
    if probe.last_attention is not None:
        for layer in range(probe.last_attention.shape[2]):
            for b, branch in enumerate(("a", "b")):
                add(
                    f"attention_on_x_k_{branch}",
                    f"layer {layer + 1}",
                    probe.last_attention[b, :, layer],
                )
    return rows


def probe_adapter(
    world: AnyWorld,
    name: str,
    adapter: SequentialModelAdapter,
    branches: dict[str, HistoryBatch],
    seed: int = 0,
) -> tuple[list[dict], BranchGap]:
    """One model's probe rows (:func:`probe_rows`, with the cluster fall) and
    :class:`BranchGap`, from the two branches' histories at step k+1."""
    if not isinstance(adapter, SequentialModelAdapter):
        raise ValueError(f"{name}: only a trained sequential model can be probed")
    if len(branches) != 2:
        raise ValueError(f"a probe compares two branches, got {len(branches)}")
    first, second = branches.values()
    probe = branch_gap(adapter.model, adapter.variant, first, second, device=adapter.device)
    x_k = first.items[np.arange(len(first)), first.lengths - 1]
    vectors = adapter.model.item_embedding.weight.detach().cpu().numpy()
    cluster = cluster_fall(probe, vectors, x_k, ItemAttributes.from_corpus(world.corpus))
    return probe_rows(name, probe, seed=seed, cluster=cluster), probe


def probe_table(
    world: AnyWorld,
    adapters: dict[str, SequentialModelAdapter],
    config: ResponsivenessConfig,
) -> tuple[pd.DataFrame, dict[str, BranchGap]]:
    """Every model's probe on its own protocol run (each model serves its users' first k
    slates, as in the measurement), between ``config.branches[0]`` and ``[1]``."""
    if len(config.branches) != 2:
        raise ValueError(f"a probe compares two branches, got {len(config.branches)}")
    rows, probes = [], {}
    for name, adapter in adapters.items():
        if not isinstance(adapter, SequentialModelAdapter):
            raise ValueError(f"{name}: only a trained sequential model can be probed")
        branches = forked_histories(world, adapter, config)
        mine, probes[name] = probe_adapter(world, name, adapter, branches, config.seed)
        rows.extend(mine)
    return pd.DataFrame(rows), probes
