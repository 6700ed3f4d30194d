"""experiments.movielens: the leave-one-out protocol, metrics, negative-target metrics,
the bce / gbce training losses and one model trained end to end, on hand-made data."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from experiments.movielens import (
    COLUMNS,
    DEFAULT_MODELS,
    BenchmarkConfig,
    benchmark_models,
    benchmark_table,
    blind_twin,
    checkpoint_ranks,
    markdown,
    resolve_model,
    reuse_model,
    run_model,
)
from recommenders import PAD, Feedback
from recommenders.evaluation import (
    HeldOut,
    disliked_creator_share,
    disliked_target_in_top,
    leave_one_out,
    mean_defined,
    ndcg_at,
    recall_at,
    sample_users,
)
from recommenders.evaluation.held_out import held_out_metrics, rank_held_out
from recommenders.evaluation.ranking import target_ranks, top_k_excluding
from recommenders.losses import GBCE, EmbeddingLogits, gbce_beta
from recommenders.models import ModelConfig, build_model
from recommenders.models.base import SequentialRecommender
from recommenders.sequences import Sequences, training_windows, validate_log
from recommenders.training.loop import TrainConfig, build_objective, train_model, window_labels
from recommenders.variants import ALL_POSITIVE, Variant, not_to_recommend_rule
from recommenders.variants import RATING_NEGATIVE_WEIGHT as NEGATIVE_WEIGHT

D, S, P = int(Feedback.DISLIKE), int(Feedback.SKIP), int(Feedback.POSITIVE)


def make_sequences(users: dict[int, list[tuple[int, int]]]) -> Sequences:
    """Sequences from {user: [(item, feedback), ...]} in position order."""
    rows = [
        (user, position, item, feedback, 1.0)
        for user, events in users.items()
        for position, (item, feedback) in enumerate(events)
    ]
    frame = pd.DataFrame(rows, columns=["user", "position", "item", "feedback", "dwell"])
    return Sequences.from_log(validate_log(frame, 100))


@pytest.fixture
def tiny():
    return make_sequences(
        {
            0: [(10, P), (11, D), (12, P), (13, S), (14, D)],
            1: [(20, P), (21, P), (22, P)],
        }
    )


# ------------------------------------------------------------------------------- protocol


def test_leave_one_out_targets_and_inputs(tiny):
    split = leave_one_out(tiny)
    assert split.validation.target_item.tolist() == [13, 21]
    assert split.test.target_item.tolist() == [14, 22]
    assert split.test.target_feedback.tolist() == [D, P]
    items, feedback, dwell, lengths = split.validation.inputs(np.array([0, 1]))
    assert lengths.tolist() == [3, 1]
    assert items.tolist() == [[10, 11, 12], [20, PAD, PAD]]
    assert feedback.tolist() == [[P, D, P], [P, PAD, PAD]]
    assert np.isnan(dwell[1, 1:]).all()
    items, _, _, lengths = split.test.inputs(np.array([1, 0]))
    assert lengths.tolist() == [2, 4]
    assert items.tolist() == [[20, 21, PAD, PAD], [10, 11, 12, 13]]


def test_training_never_sees_validation_or_test_events(tiny):
    split = leave_one_out(tiny)
    train = split.train
    assert train.lengths.tolist() == [3, 1]
    held = {13, 14, 21, 22}
    windows = training_windows(train, 2)
    seen = set(windows.items[windows.items != PAD].tolist())
    assert seen == {10, 11, 12, 20} and not seen & held
    # train_model trains on sequences.split_last(n_holdout): the same events.
    config = BenchmarkConfig().train_config(benchmark_models()["sasrec-ce"])
    same = split.sequences.split_last(config.n_holdout)[0]
    assert np.array_equal(same.items, train.items) and np.array_equal(same.lengths, train.lengths)


def test_held_out_inputs_hide_the_target_and_later_events():
    seqs = make_sequences({0: [(1, P), (2, P), (3, P), (4, P), (5, P)]})
    held = HeldOut(seqs, np.array([2]))
    items, _, _, lengths = held.inputs(np.array([0]))
    assert items.tolist() == [[1, 2]] and lengths.tolist() == [2]
    assert held.target_item.tolist() == [3]
    with pytest.raises(ValueError, match="within its user's events"):
        HeldOut(seqs, np.array([5]))


def test_leave_one_out_needs_three_events():
    seqs = make_sequences({0: [(1, P), (2, P), (3, P)], 7: [(1, P), (2, P)]})
    with pytest.raises(ValueError, match="user 7 has 2"):
        leave_one_out(seqs)


def test_sample_users_is_a_seeded_subset(tiny):
    seqs = make_sequences({u: [(u, P), (u + 1, P), (u + 2, P)] for u in range(10)})
    a, b = sample_users(seqs, 4, seed=1), sample_users(seqs, 4, seed=1)
    assert len(a) == 4 and a.users.tolist() == b.users.tolist()
    assert a.users.tolist() == sorted(a.users.tolist())
    row = int(np.searchsorted(seqs.users, a.users[0]))
    assert a.items[0].tolist() == seqs.items[row, : a.items.shape[1]].tolist()
    assert sample_users(seqs, 50) is seqs
    with pytest.raises(ValueError):
        sample_users(seqs, 0)


# ------------------------------------------------------------------------- ranking, metrics


class FixedScores(SequentialRecommender):
    """Every state is [1]; item j's one-dimensional embedding is ``scores[j]``, so the logits
    of every user are exactly ``scores``."""

    def __init__(self, scores):
        super().__init__(ModelConfig(kind="gru", dim=1, max_len=3), len(scores), kind="gru")
        with torch.no_grad():
            self.item_embedding.weight[:, 0] = torch.as_tensor(scores, dtype=torch.float32)

    def _contextualise(self, x, lengths):
        return torch.ones_like(x)


def test_ranking_excludes_input_items_even_beyond_max_len():
    # Item j scores -j: item 0 is the best. User 0's input holds items 0, 1, 5, 2 (4 events,
    # more than the model's max_len of 3): all four are excluded, so target 3 ranks first.
    events = {0: [(0, P), (1, P), (5, P), (2, P), (3, D)], 1: [(0, P), (9, P), (4, P)]}
    seqs = make_sequences(events)
    model = FixedScores(-np.arange(12.0))
    ranks, shares = rank_held_out(model, Variant("x"), leave_one_out(seqs).test)
    assert ranks.tolist() == [0, 3]  # user 1: items 1, 2, 3 above 4 (0 is in its input)
    assert np.isnan(shares).all()  # no creators given
    logits = torch.as_tensor(-np.arange(12.0))[None].repeat(2, 1)
    context = torch.tensor([[0, 1, 5, 2], [0, 9, PAD, PAD]])
    top = top_k_excluding(logits, context, 3)
    assert top.tolist() == [[3, 4, 6], [1, 2, 3]]
    # Without exclusion the target would rank 3rd: target_ranks does the exclusion.
    none = torch.full((2, 1), PAD)
    assert target_ranks(logits, torch.tensor([3, 4]), none).tolist() == [3, 4]
    assert target_ranks(logits, torch.tensor([3, 4]), context).tolist() == [0, 3]


def test_top_k_breaks_ties_by_lower_id_like_target_ranks():
    logits = torch.tensor([[1.0, 2.0, 2.0, 0.0, 2.0]])
    top = top_k_excluding(logits, torch.tensor([[2]]), 3)
    assert top.tolist() == [[1, 4, 0]]
    ranks = target_ranks(logits, torch.tensor([4]), torch.tensor([[2]]))
    assert ranks.tolist() == [1]
    with pytest.raises(ValueError):
        top_k_excluding(logits, torch.tensor([[2]]), 6)


def test_recall_and_ndcg_by_hand():
    ranks = np.array([0, 1, 9, 10, 50])
    assert recall_at(ranks, 10) == pytest.approx(3 / 5)
    assert recall_at(ranks, 1) == pytest.approx(1 / 5)
    expected = (1 + 1 / math.log2(3) + 1 / math.log2(11)) / 5
    assert ndcg_at(ranks, 10) == pytest.approx(expected)
    assert math.isnan(recall_at(np.array([]), 10)) and math.isnan(ndcg_at(np.array([]), 10))


def test_disliked_target_in_top_by_hand():
    ranks = np.array([0, 20, 5, 30, 9])
    disliked = np.array([True, True, False, True, False])
    assert disliked_target_in_top(ranks, disliked, 10) == pytest.approx(1 / 3)
    assert math.isnan(disliked_target_in_top(ranks, np.zeros(5, bool), 10))


def test_disliked_creator_share_by_hand():
    creator = np.array([0, 0, 1, 1, 2, -1, 3, 3])  # item -> creator, item 5 unknown
    input_items = np.array(
        [
            [0, 2, 4, PAD],  # disliked item 2 (creator 1)
            [5, 6, PAD, PAD],  # disliked item 5 has no creator: the user does not count
            [1, 4, 6, 7],  # disliked 1 (creator 0) and 7 (creator 3); 6 liked
            [0, 1, PAD, PAD],  # no dislikes: does not count
        ]
    )
    disliked = np.array(
        [
            [False, True, False, False],
            [True, False, False, False],
            [True, False, False, True],
            [False, False, False, False],
        ]
    )
    top = np.array([[3, 4, 5, 1], [0, 1, 2, 3], [6, 0, 5, 2], [0, 1, 2, 3]])
    shares = disliked_creator_share(top, input_items, disliked, creator)
    # user 0: item 3 is by creator 1 -> 1/4; user 2: items 6 (creator 3) and 0 (creator 0) -> 2/4.
    np.testing.assert_allclose(shares, [0.25, np.nan, 0.5, np.nan])
    assert mean_defined(shares) == (pytest.approx(0.375), 2)
    assert math.isnan(mean_defined(np.full(3, np.nan))[0])


def test_held_out_metrics_by_hand(tiny):
    split = leave_one_out(tiny)  # test targets: user 0's is disliked, user 1's is not
    metrics = held_out_metrics(split.test, np.array([3, 12]), np.array([0.5, np.nan]))
    assert metrics.recall10 == 0.5 and metrics.recall1 == 0.0 and metrics.n_users == 2
    assert metrics.ndcg10 == pytest.approx(0.5 / math.log2(5))
    assert metrics.disliked_in_top10 == 1.0 and metrics.n_disliked == 1
    assert metrics.recall10_not_disliked == 0.0
    assert metrics.disliked_director_share == 0.5 and metrics.n_director_users == 1


# ---------------------------------------------------------------------------- labels, specs


def test_labels_of_the_benchmark(tiny):
    windows = training_windows(tiny, 5)
    weights, negative = window_labels(windows, Variant("blind", labels=ALL_POSITIVE))
    valid = windows.items != PAD
    assert (weights[valid] == 1).all() and not negative.any()  # dislikes and skips included
    rule = not_to_recommend_rule(7.0)
    weights, negative = window_labels(windows, Variant("ntr", labels=rule))
    disliked = windows.feedback == D
    assert (negative == disliked).all() and (weights[disliked] == 7.0).all()
    assert (weights[valid & ~disliked] == 1).all()


def test_model_specs():
    models = benchmark_models(negative_weight=3.0)
    assert set(DEFAULT_MODELS) <= set(models)
    assert (models["gsasrec"].n_negatives, models["gsasrec"].gbce_t) == (256, 0.75)
    assert models["sasrec-bce"].positive_loss == "bce"
    assert models["sasrec-ce"].published_ndcg10 == 0.182
    assert math.isnan(models["gru-ce"].published_recall10)
    ntr = models["sasrec-ce-feature-ntr"].variant
    assert ntr.labels.negative_weight == 3.0 and ntr.features.feedback_type
    assert not models["sasrec-ce"].variant.features.uses_feedback
    config = BenchmarkConfig()
    sasrec = config.model_config(models["sasrec-ce"])
    assert (sasrec.dim, sasrec.max_len, sasrec.n_layers, sasrec.dropout) == (128, 200, 2, 0.2)
    train = config.train_config(models["gsasrec"])
    assert (train.positive_loss, train.n_negatives, train.gbce_t) == ("gbce", 256, 0.75)


# ------------------------------------------------------------------------ bce / gbce losses


def test_bce_and_gbce_objectives_match_hand_formulas():
    v = 6
    windows = training_windows(make_sequences({0: [(1, P), (2, P), (3, P)]}), 3)
    blind = Variant("blind", labels=ALL_POSITIVE)
    bce = build_objective(TrainConfig(positive_loss="bce"), blind, windows, v)
    assert isinstance(bce.positive, GBCE) and (bce.positive.n_neg, bce.positive.t) == (1, 0.0)
    gbce = build_objective(TrainConfig(positive_loss="gbce", n_negatives=3), blind, windows, v)
    assert (gbce.positive.n_neg, gbce.positive.t) == (3, 0.75)

    # With identity embeddings the states are the logits z.
    z = torch.tensor([[0.3, -1.0, 2.0, 0.5, 0.0, 1.5]], dtype=torch.float64, requires_grad=True)
    source = EmbeddingLogits(torch.eye(v, dtype=torch.float64))
    label, weight = torch.tensor([2]), torch.ones(1, dtype=torch.float64)
    sig = torch.sigmoid
    # BCE, one negative (item 4): L = -log s(z_2) - log(1 - s(z_4)).
    loss = bce.positive(source, z, label, weight, negatives=torch.tensor([[4]]))
    zz = z.detach()[0]
    hand = -torch.log(sig(zz[2])) - torch.log(1 - sig(zz[4]))
    assert loss.item() == pytest.approx(hand.item())
    loss.backward()
    grad = torch.zeros(v, dtype=torch.float64)
    grad[2], grad[4] = -(1 - sig(zz[2])), sig(zz[4])
    torch.testing.assert_close(z.grad[0], grad)
    # gBCE, negatives 0, 4, 4: L = -beta log s(z_2) - sum_k log(1 - s(z_k)).
    z.grad = None
    beta = gbce_beta(3, v, 0.75)
    loss = gbce.positive(source, z, label, weight, negatives=torch.tensor([[0, 4, 4]]))
    hand = -beta * torch.log(sig(zz[2])) - torch.log(1 - sig(zz[[0, 4, 4]])).sum()
    assert loss.item() == pytest.approx(hand.item())
    loss.backward()
    grad = torch.zeros(v, dtype=torch.float64)
    grad[2], grad[0], grad[4] = -beta * (1 - sig(zz[2])), sig(zz[0]), 2 * sig(zz[4])
    torch.testing.assert_close(z.grad[0], grad)


def test_dense_gather_equals_the_gathered_embeddings():
    g = torch.Generator().manual_seed(0)
    e, s = torch.randn(7, 4, generator=g), torch.randn(5, 4, generator=g)
    items = torch.randint(0, 7, (5, 3), generator=g)  # 3 x 4 > 7: the dense route
    expected = torch.einsum("nd,nmd->nm", s, e[items])
    torch.testing.assert_close(EmbeddingLogits(e).gather(s, items), expected)


def test_bad_loss_options():
    with pytest.raises(ValueError, match="positive_loss must be one of"):
        TrainConfig(positive_loss="hinge")
    with pytest.raises(ValueError, match="gbce_t must be in"):
        TrainConfig(positive_loss="gbce", gbce_t=1.5)
    with pytest.raises(ValueError, match="max_seconds must be > 0"):
        TrainConfig(max_seconds=0)
    windows = training_windows(make_sequences({0: [(1, P), (2, P), (3, P)]}), 3)
    with pytest.raises(ValueError, match="n_negatives 9 must be <= n_items - 1"):
        build_objective(TrainConfig(positive_loss="gbce", n_negatives=9), Variant("x"), windows, 6)


# ---------------------------------------------------------------------- training, end to end


def cyclic_sequences(n_users=24, length=12, n_items=20):
    """Next item = previous + 1 (mod n_items); every 4th event disliked."""
    return make_sequences(
        {
            u: [((u + t) % n_items, D if t % 4 == 3 else P) for t in range(length)]
            for u in range(n_users)
        }
    )


@pytest.mark.parametrize("loss", ["bce", "gbce"])
def test_train_model_with_bce_losses_and_a_validate_hook(loss):
    seqs = cyclic_sequences()
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="sasrec", dim=8, max_len=6, n_layers=1), 20)
    scripted = iter([0.1, 0.3, 0.2])
    calls = []

    def validate(m):
        calls.append(m.training)
        return {"ndcg10": next(scripted), "recall10": 0.0, "disliked_in_top10": 0.0}

    train = TrainConfig(epochs=3, batch_size=8, positive_loss=loss, n_negatives=5, patience=5)
    blind = Variant("blind", labels=ALL_POSITIVE)
    result = train_model(model, blind, seqs, train, validate=validate)
    assert calls == [False, False, False]  # called in eval mode after each epoch
    assert result.best_epoch == 2 and list(result.history["val_ndcg10"]) == [0.1, 0.3, 0.2]
    assert np.isfinite(result.history["train_loss"]).all()
    assert result.sequences_per_second > 0


def test_max_seconds_stops_after_the_first_epoch():
    model = build_model(ModelConfig(kind="gru", dim=8, max_len=6), 20)
    train = TrainConfig(epochs=5, batch_size=8, positive_loss="softmax_ce", max_seconds=1e-6)
    result = train_model(model, Variant("blind", labels=ALL_POSITIVE), cyclic_sequences(), train)
    assert len(result.history) == 1


def test_run_model_writes_checkpoint_curve_and_row(tmp_path):
    seqs = cyclic_sequences()
    split = leave_one_out(seqs)
    spec = benchmark_models()["sasrec-ce-feature-ntr"]
    config = BenchmarkConfig(dim=8, max_len=6, sasrec_blocks=1, epochs=2, batch_size=16)
    creator = np.arange(20) % 5
    row = run_model(spec, split, config, 20, creator, "fp-1", tmp_path, extra={"note": 1})
    folder = tmp_path / spec.name
    names = {p.name for p in folder.iterdir()}
    assert {"checkpoint.json", "weights.pt", "metrics.csv", "learning_curve.png"} <= names
    header = json.loads((folder / "checkpoint.json").read_text())
    assert header["fingerprint"] == "fp-1" and header["note"] == 1
    assert header["test_metrics"]["n_users"] == 24
    assert set(COLUMNS) <= set(row) and row["epochs"] == 2 and row["n_users"] == 24
    for key in ("recall10", "ndcg10", "recall1", "disliked_in_top10"):
        assert 0.0 <= row[key] <= 1.0
    # Every user disliked something whose creator is known (creator = item % 5).
    assert row["n_director_users"] == 24 and 0.0 <= row["disliked_director_share"] <= 1.0
    table = benchmark_table([row])
    assert list(table.columns) == list(COLUMNS)
    assert spec.name in markdown(table)
    with pytest.raises(ValueError, match="already exists"):
        run_model(spec, split, config, 20, creator, "fp-1", tmp_path)


def test_reuse_model_returns_the_stored_row_and_refuses_other_settings(tmp_path):
    split = leave_one_out(cyclic_sequences())
    spec = resolve_model("sasrec-ce-feature-ntr-w3")
    config = BenchmarkConfig(dim=8, max_len=6, sasrec_blocks=1, epochs=2, batch_size=16)
    creator = np.arange(20) % 5
    subset = {"subset": [1]}
    row = run_model(spec, split, config, 20, creator, "fp-1", tmp_path, extra=subset)
    # Trained elsewhere, for longer, on another device: still the same model.
    elsewhere = config.replace(epochs=50, patience=3, max_seconds=60.0, device="cpu")
    again = reuse_model(spec, elsewhere, "fp-1", tmp_path, extra=subset)
    pd.testing.assert_frame_equal(benchmark_table([again]), benchmark_table([row]))
    reworded = dataclasses.replace(spec, description="reworded")
    assert reuse_model(reworded, config, "fp-1", tmp_path, extra=subset)["model"] == spec.name
    ranks = checkpoint_ranks(tmp_path / spec.name, split.test)
    assert recall_at(ranks, 10) == pytest.approx(row["recall10"])
    assert ndcg_at(ranks, 10) == pytest.approx(row["ndcg10"])
    other_spec = dataclasses.replace(
        spec, variant=resolve_model("sasrec-ce-feature-ntr-w4").variant
    )
    for args, what in (
        ((other_spec, config, "fp-1", tmp_path, subset), "benchmark_model"),
        ((spec, config.replace(dim=16), "fp-1", tmp_path, subset), "benchmark_config"),
        ((spec, config, "fp-2", tmp_path, subset), "fingerprint"),
        ((spec, config, "fp-1", tmp_path, {"subset": [2]}), "subset"),
    ):
        with pytest.raises(ValueError, match=f"another {what} than this run asks for"):
            reuse_model(*args)
    with pytest.raises(ValueError, match="not a folder"):
        reuse_model(spec, config, "fp-1", tmp_path / "elsewhere")


def test_resolve_model_weights_and_twins():
    default = resolve_model("sasrec-ce-feature-ntr")
    w10 = resolve_model("sasrec-ce-feature-ntr-w10")
    assert w10.name == "sasrec-ce-feature-ntr-w10"
    assert w10.variant.labels.negative_weight == 10.0
    assert default.variant.labels.negative_weight == NEGATIVE_WEIGHT == 3.0
    assert resolve_model("gru-ce-feature-ntr-w0.5").variant.labels.negative_weight == 0.5
    for bad, message in (
        ("sasrec-ce-feature-ntr-wx", "weight after -w must be a number >= 0"),
        ("sasrec-ce-feature-ntr-w-1", "weight after -w must be a number >= 0"),
        ("sasrec-ce-w10", "unknown model 'sasrec-ce-w10'"),
        ("sasrec", "unknown model 'sasrec'"),
    ):
        with pytest.raises(ValueError, match=message):
            resolve_model(bad)
    assert blind_twin("sasrec-ce-feature-ntr-w10") == "sasrec-ce"
    assert blind_twin("gru-ce-feature") == "gru-ce"
    assert blind_twin("sasrec-ce") is None and blind_twin("gsasrec") is None
