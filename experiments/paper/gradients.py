"""The loss-gradient study: how each negative-label loss behaves as ``p -> 0``.

Notation as in :mod:`recommenders.losses`: ``z`` is the negative label's own logit,
``p = softmax(z)_y`` its full-softmax probability over ``V`` items, ``w >= 0`` the weight
magnitude (the "negative-weight" losses apply the minus sign themselves).

Two derivatives, two different claims:

* ``dL/dp`` (w.r.t. the probability): the paper's "gradient blow-up when p -> 0". For
  ``negative_weight_ce`` (``L = w log p``) it is ``w / p``; for ``not_to_recommend``
  (``L = -w log(1 - p)``) it is ``w / (1 - p) -> w``.
* ``dL/dz`` (w.r.t. the label's logit, what reaches the network): ``w (1 - p) -> w`` for
  ``negative_weight_ce`` (never fades: the loss is unbounded below) and ``w p -> 0`` for
  ``not_to_recommend`` (stops once the item is suppressed).

:func:`gradient_table` measures both with autograd in float64. Every loss here depends
on the logits only through ``p``, so ``dL/dz = (dL/dp) (dp/dz)`` with
``dp/dz = p (1 - p)`` (the softmax derivative of a label's probability w.r.t. its own
logit, other logits fixed); ``dL/dp`` is obtained from the measured ``dL/dz`` as
``(dL/dz) / (p (1 - p))``.

:func:`training_instability` runs a tiny synthetic training task with the two
objectives, same seed, and records the loss parts and the global gradient norm per step.
Plots use the bare matplotlib ``Figure`` API (no pyplot); every file is written
atomically (:mod:`recommenders.atomic`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from recommenders.atomic import atomic_write_csv, save_figure
from recommenders.losses import NEGATIVE_LOSSES, EmbeddingLogits, Objective
from recommenders.torch_threads import one_torch_thread

__all__ = [
    "DEFAULT_LOSSES",
    "clipped_name",
    "gradient_table",
    "label_logits",
    "plot_gradients",
    "plot_instability",
    "training_instability",
]

DEFAULT_LOSSES = (
    "not_to_recommend",
    "negative_weight_ce",
    "eps_smoothed_ce",
    "focal_negative",
    "gbce_negative",
)
TABLE_COLUMNS = ["loss", "p", "loss_value", "dL_dp", "dL_dz"]
_F64 = torch.float64


def clipped_name(loss: str, clip_norm: float) -> str:
    """Row label of the clipped variant, e.g. ``"negative_weight_ce (clipped at 1)"``."""
    return f"{loss} (clipped at {clip_norm:g})"


def label_logits(p: float, n_items: int) -> torch.Tensor:
    """``(V,)`` float64 logits, item 0 the label, every other logit 0, with
    ``softmax(z)[0] == p``: ``z_0 = log(p (V - 1) / (1 - p))``, computed in log space."""
    z = torch.zeros(n_items, dtype=_F64)
    z[0] = math.log(p) + math.log(n_items - 1) - math.log1p(-p)
    return z


def _check_p(p_values: np.ndarray) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("p_values must be a non-empty 1-d array")
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p >= 1):
        raise ValueError("every p must lie strictly between 0 and 1")
    return p


def gradient_table(
    p_values: np.ndarray,
    losses: Sequence[str] = DEFAULT_LOSSES,
    weight: float = 1.0,
    n_items: int = 1000,
    clip_norm: float | None = 1.0,
) -> pd.DataFrame:
    """Loss value and gradients of a NEGATIVE label whose softmax probability is exactly p.

    For each loss (a name in :data:`~recommenders.losses.NEGATIVE_LOSSES`, built with its
    defaults) and each ``p``, the logits over ``V = n_items`` items are
    :func:`label_logits` (label first, the others 0). They are fed to the library's own
    loss class as the states of an identity :class:`EmbeddingLogits` (so states *are*
    logits), in float64, with label weight ``weight``; autograd gives ``dL/dz`` on the
    label's logit, and ``dL/dp = (dL/dz) / (p (1 - p))`` by the chain rule (see module
    docstring).

    Clipping: if ``clip_norm`` is set and ``"negative_weight_ce"`` is among ``losses``,
    extra rows named :func:`clipped_name` hold its gradient after clipping the whole
    logit gradient (all ``V`` entries) to L2 norm ``<= clip_norm``, as
    ``torch.nn.utils.clip_grad_norm_`` would. Clipping bounds the *step*, not the loss:
    ``loss_value`` is unchanged (still ``w log p -> -inf``) and the clipped ``dL/dz`` still
    does not fade as ``p -> 0``; it only caps it.

    Returns:
        DataFrame with columns ``loss, p, loss_value, dL_dp, dL_dz`` (one row per loss and
        p, losses in the given order, clipped rows last).

    Raises:
        ValueError: a p outside (0, 1), ``n_items < 2``, a negative or non-finite weight,
            a non-positive clip_norm, or an unknown loss name.
    """
    p_arr = _check_p(p_values)
    if n_items < 2:
        raise ValueError("n_items must be >= 2")
    if not math.isfinite(weight) or weight < 0:
        raise ValueError("weight must be a finite number >= 0")
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError("clip_norm must be > 0")
    unknown = [name for name in losses if name not in NEGATIVE_LOSSES]
    if unknown or not losses:
        raise ValueError(f"unknown losses {unknown}; known: {sorted(NEGATIVE_LOSSES)}")

    source = EmbeddingLogits(torch.eye(n_items, dtype=_F64))
    labels = torch.zeros(1, dtype=torch.long)
    weights = torch.full((1,), float(weight), dtype=_F64)
    rows, clipped = [], []
    with one_torch_thread():
        _fill_table(losses, p_arr, source, labels, weights, clip_norm, rows, clipped)
    return pd.DataFrame(rows + clipped, columns=TABLE_COLUMNS)


def _fill_table(losses, p_arr, source, labels, weights, clip_norm, rows, clipped) -> None:
    n_items = source.n_items
    for name in losses:
        loss_fn = NEGATIVE_LOSSES[name]()
        for p in p_arr:
            states = label_logits(float(p), n_items)[None].requires_grad_(True)
            loss = loss_fn(source, states, labels, weights)
            (grad,) = torch.autograd.grad(loss, states)
            dpdz = p * (1.0 - p)
            dldz = float(grad[0, 0])
            value = float(loss.detach())
            rows.append((name, p, value, dldz / dpdz, dldz))
            if name == "negative_weight_ce" and clip_norm is not None:
                norm = float(torch.linalg.vector_norm(grad))
                scale = min(1.0, clip_norm / norm) if norm > 0 else 1.0
                clipped.append(
                    (clipped_name(name, clip_norm), p, value, scale * dldz / dpdz, scale * dldz)
                )


# ---------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------


def _positive_only(values: np.ndarray) -> np.ndarray:
    """NaN where a value cannot go on a log axis (<= 0 or non-finite)."""
    out = np.asarray(values, dtype=np.float64).copy()
    out[~(np.isfinite(out) & (out > 0))] = np.nan
    return out


def plot_gradients(table: pd.DataFrame, path_stem: str | os.PathLike[str]) -> list[Path]:
    """Three log-log panels against p: ``|loss|``, ``|dL/dp|``, ``|dL/dz|``, one line per loss.

    A negative loss value cannot go on a log axis, so the first panel shows ``|L|``, solid
    where ``L > 0`` and dashed where ``L < 0`` (said in its title and legend). Clipped
    rows have the same loss as the unclipped loss and are left out of the first panel.
    Writes ``<path_stem>.png`` and ``<path_stem>.pdf`` atomically; returns their paths.
    """
    missing = set(TABLE_COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}")
    fig = Figure(figsize=(14, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    colors = [f"C{i}" for i in range(10)]
    handles = []
    for i, (name, group) in enumerate(table.groupby("loss", sort=False)):
        group = group.sort_values("p")
        p = group["p"].to_numpy()
        color = colors[i % len(colors)]
        is_clipped = "clipped" in str(name)
        style = ":" if is_clipped else "-"
        # Earlier lines drawn wider, so coinciding curves (negative_weight_ce and
        # focal_negative at small p) stay visible under the later ones.
        width = 1.6 if is_clipped else 1.2 + 0.7 * max(0, 3 - i)
        value = group["loss_value"].to_numpy()
        if not is_clipped:
            axes[0].plot(p, _positive_only(np.where(value > 0, value, np.nan)), "-", color=color)
            axes[0].plot(p, _positive_only(np.where(value < 0, -value, np.nan)), "--", color=color)
        for ax, column in ((axes[1], "dL_dp"), (axes[2], "dL_dz")):
            ax.plot(
                p, _positive_only(np.abs(group[column].to_numpy())), style, color=color, lw=width
            )
        handles.append(Line2D([], [], color=color, ls=style, lw=width, label=str(name)))
    axes[0].set_title("|loss|  (dashed: loss < 0, |L| shown)")
    axes[0].legend(
        handles=[
            Line2D([], [], color="gray", ls="-", label="L > 0"),
            Line2D([], [], color="gray", ls="--", label="L < 0 (plotted as |L|)"),
        ],
        fontsize="small",
    )
    axes[1].set_title("|dL/dp|  (the paper's blow-up: ~1/p)")
    axes[2].set_title("|dL/dz| on the label's logit  (reaches the network)")
    axes[2].legend(handles=handles, fontsize="small", loc="lower right")
    for ax in axes:
        ax.set(xscale="log", yscale="log", xlabel="p = softmax probability of the negative label")
        ax.grid(True, which="major", alpha=0.3)
    return save_figure(fig, path_stem)


# ---------------------------------------------------------------------------------------
# Training instability
# ---------------------------------------------------------------------------------------


def training_instability(
    n_steps: int = 200,
    seed: int = 0,
    *,
    n_items: int = 200,
    dim: int = 16,
    n_users: int = 64,
    n_negative: int = 16,
    lr: float = 1e-2,
    negatives: Sequence[str] = ("not_to_recommend", "negative_weight_ce"),
) -> pd.DataFrame:
    """Short training runs on a tiny synthetic task, one per negative loss, same seed.

    Task: ``n_users`` learnable user states and ``n_items`` learnable item embeddings
    (``dim``-dimensional, N(0, 0.1^2) init, float32). Every user has one positive label
    (weight 1); the first ``n_negative`` users also have one negative label (weight 1), an
    item different from every positive label. The objective is
    ``Objective(positive="softmax_ce", negative=<name>, reduction="mean")`` with
    full softmax; the optimiser is Adam(lr). Data and initial parameters depend only on
    ``seed``, so the runs differ only in the negative loss.

    Returns:
        DataFrame, one row per (negative loss, step) with columns ``negative_loss, step,
        total, positive, negative`` (the objective's parts at that step, before the
        update), ``grad_norm`` (global L2 norm of the gradient over all parameters),
        ``label_grad`` (mean ``|dL/dz|`` on the negative labels' own logits, per example,
        weight 1), ``mean_log_p_negative`` (mean ``log p`` of the negative labels) and
        ``param_norm`` (global L2 norm of the parameters).
    """
    if n_steps < 1:
        raise ValueError("n_steps must be >= 1")
    if n_items < 3 or dim < 1 or n_users < 1 or not 0 <= n_negative <= n_users:
        raise ValueError("need n_items >= 3, dim >= 1, n_users >= 1, 0 <= n_negative <= n_users")
    if not lr > 0:
        raise ValueError("lr must be > 0")
    unknown = [name for name in negatives if name not in NEGATIVE_LOSSES]
    if unknown:
        raise ValueError(f"unknown losses {unknown}; known: {sorted(NEGATIVE_LOSSES)}")

    gen = torch.Generator().manual_seed(seed)
    init_states = 0.1 * torch.randn(n_users, dim, generator=gen)
    init_items = 0.1 * torch.randn(n_items, dim, generator=gen)
    perm = torch.randperm(n_items, generator=gen)
    n_pos_items = max(1, n_items // 2)
    positives = perm[:n_pos_items][torch.randint(0, n_pos_items, (n_users,), generator=gen)]
    neg_pool = perm[n_pos_items:]
    negative_items = neg_pool[torch.randint(0, len(neg_pool), (n_negative,), generator=gen)]
    users = torch.cat([torch.arange(n_users), torch.arange(n_negative)])
    labels = torch.cat([positives, negative_items])
    is_negative = torch.cat(
        [torch.zeros(n_users, dtype=torch.bool), torch.ones(n_negative, dtype=torch.bool)]
    )
    weights = torch.ones(len(labels))

    problem = _Problem(init_states, init_items, users, labels, weights, is_negative, negative_items)
    with one_torch_thread():
        rows = [row for name in negatives for row in _run(name, problem, n_steps, lr)]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class _Problem:
    """The labelled data and initial parameters every run of the study starts from."""

    init_states: torch.Tensor
    init_items: torch.Tensor
    users: torch.Tensor
    labels: torch.Tensor
    weights: torch.Tensor
    is_negative: torch.Tensor
    negative_items: torch.Tensor


def _run(name: str, problem: _Problem, n_steps: int, lr: float) -> list[dict]:
    """One Adam run of :func:`training_instability`: a dict per step."""
    init_states, init_items = problem.init_states, problem.init_items
    users, labels, weights = problem.users, problem.labels, problem.weights
    is_negative, negative_items = problem.is_negative, problem.negative_items
    rows: list[dict] = []
    n_negative = len(negative_items)
    n_items = init_items.shape[0]
    neg_rows = torch.arange(n_negative)
    identity = EmbeddingLogits(torch.eye(n_items))
    states = torch.nn.Parameter(init_states.clone())
    items = torch.nn.Parameter(init_items.clone())
    objective = Objective("softmax_ce", name, reduction="mean")
    neg_loss = objective.negative
    optimiser = torch.optim.Adam([states, items], lr=lr)
    for step in range(n_steps):
        optimiser.zero_grad()
        total, parts = objective(
            EmbeddingLogits(items), states[users], labels, weights, is_negative
        )
        total.backward()
        grad_norm = float(
            torch.linalg.vector_norm(torch.cat([states.grad.ravel(), items.grad.ravel()]))
        )
        param_norm = float(
            torch.linalg.vector_norm(torch.cat([states.detach().ravel(), items.detach().ravel()]))
        )
        label_grad = mean_log_p = float("nan")
        if n_negative:
            # dL/dz on the negative labels' own logits, measured on detached logits.
            logits = (states[:n_negative] @ items.T).detach().requires_grad_(True)
            per = neg_loss(identity, logits, negative_items, torch.ones(n_negative))
            (grad,) = torch.autograd.grad(per, logits)
            label_grad = float(grad[neg_rows, negative_items].abs().mean())
            log_p = torch.log_softmax(logits.detach(), dim=1)[neg_rows, negative_items]
            mean_log_p = float(log_p.mean())
        rows.append(
            {
                "negative_loss": name,
                "step": step,
                "total": float(total.detach()),
                "positive": parts["positive"],
                "negative": parts["negative"],
                "grad_norm": grad_norm,
                "label_grad": label_grad,
                "mean_log_p_negative": mean_log_p,
                "param_norm": param_norm,
            }
        )
        optimiser.step()
    return rows


def plot_instability(frame: pd.DataFrame, path_stem: str | os.PathLike[str]) -> list[Path]:
    """Two panels against step: the objective (total solid, negative part dashed) and the
    global gradient norm (log scale), one colour per negative loss. Writes
    ``<path_stem>.png`` and ``.pdf`` atomically; returns their paths."""
    fig = Figure(figsize=(11, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for i, (name, group) in enumerate(frame.groupby("negative_loss", sort=False)):
        color = f"C{i % 10}"
        axes[0].plot(group["step"], group["total"], "-", color=color, label=f"{name}: total")
        axes[0].plot(
            group["step"], group["negative"], "--", color=color, label=f"{name}: negative part"
        )
        axes[1].plot(
            group["step"], _positive_only(group["grad_norm"].to_numpy()), color=color, label=name
        )
    axes[0].axhline(0.0, color="gray", lw=0.6)
    axes[0].set(title="training objective (mean over labels)", xlabel="Adam step", ylabel="loss")
    axes[1].set(title="global gradient norm", xlabel="Adam step", yscale="log")
    for ax in axes:
        ax.legend(fontsize="small")
        ax.grid(True, alpha=0.3)
    return save_figure(fig, path_stem)


GRID = np.unique(np.concatenate([np.logspace(-12, -1, 45), [0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999]]))
GRADIENT_FLOAT_FORMAT = "%.10g"
"""Ten significant digits: gradients near p -> 0 span twelve orders of magnitude."""


def write_gradient_study(
    out: Path, n_items: int = 1000, steps: int = 200, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute both parts of the study and write them into ``out``.

    Writes ``gradients.csv/.png/.pdf`` (loss, dL/dp, dL/dz on :data:`GRID`) and
    ``instability.csv/.png/.pdf`` (``steps`` Adam steps, ``seed``); returns
    (gradient table, instability table).
    """
    if n_items < 2:
        raise ValueError(f"n_items must be >= 2, got {n_items}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    table = gradient_table(GRID, n_items=n_items)
    frame = training_instability(n_steps=steps, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(out / "gradients.csv", table, float_format=GRADIENT_FLOAT_FORMAT)
    plot_gradients(table, out / "gradients")
    atomic_write_csv(out / "instability.csv", frame, float_format=GRADIENT_FLOAT_FORMAT)
    plot_instability(frame, out / "instability")
    return table, frame
