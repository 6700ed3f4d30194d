import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from recommenders import Feedback, HistoryBatch, load_adapter
from recommenders.checkpoint import CHECKPOINT_VERSION, CheckpointError, save_checkpoint
from recommenders.models import ModelConfig, build_model
from recommenders.sequences import Sequences, validate_log
from recommenders.training.fit import fit_variant
from recommenders.training.loop import TrainConfig, TrainingDiverged, window_labels
from recommenders.variants import VARIANTS, LabelRule, Variant, get_variant

N_ITEMS = 60


@pytest.fixture(scope="module")
def sequences():
    """A log with structure: next item = previous + 1 (mod V); every 7th event disliked."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(80):
        item = int(rng.integers(N_ITEMS))
        for position in range(30):
            disliked = rng.random() < 0.15
            feedback = Feedback.DISLIKE if disliked else Feedback.POSITIVE
            rows.append((user, position, item, int(feedback), float(rng.uniform(0.5, 1.0))))
            item = (item + 1) % N_ITEMS
    frame = pd.DataFrame(rows, columns=["user", "position", "item", "feedback", "dwell"])
    return Sequences.from_log(validate_log(frame, N_ITEMS))


def _fit(sequences, variant_name, tmp_path, kind="gru", seed=0, epochs=2, **options):
    variant = get_variant(variant_name)
    model_config = ModelConfig(
        kind=kind, dim=16, max_len=12, n_layers=1, features=variant.features, **options
    )
    train_config = TrainConfig(epochs=epochs, batch_size=32, lr=2e-2, seed=seed, patience=5)
    return fit_variant(sequences, variant, model_config, train_config, N_ITEMS, "world-x", tmp_path)


def test_variants_are_the_papers():
    assert list(VARIANTS) == [
        "baseline",
        "dislike_feature",
        "dislike_feature_label",
        "exclude_disliked",
        "skip_label",
    ]
    assert not VARIANTS["baseline"].features.dislike
    assert VARIANTS["dislike_feature_label"].labels.negative_feedback == (Feedback.DISLIKE,)
    assert VARIANTS["exclude_disliked"].exclude_disliked_input
    assert VARIANTS["skip_label"].labels.negative_feedback == (Feedback.SKIP,)
    for variant in VARIANTS.values():
        assert Variant.from_dict(json.loads(json.dumps(variant.to_dict()))) == variant
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        get_variant("nope")
    with pytest.raises(ValueError, match="both positive and negative"):
        LabelRule(negative_feedback=(Feedback.POSITIVE,))


def test_window_labels_follow_the_rule(sequences):
    from recommenders.sequences import training_windows

    windows = training_windows(sequences, 12)
    weights, negative = window_labels(windows, get_variant("dislike_feature_label"))
    disliked = windows.feedback == Feedback.DISLIKE
    assert (negative == disliked).all()
    assert (weights[disliked] == get_variant("dislike_feature_label").labels.negative_weight).all()
    weights, negative = window_labels(windows, get_variant("dislike_feature"))
    assert not negative.any() and (weights[disliked] == 0).all()


def test_training_learns_and_is_repeatable(sequences, tmp_path):
    first = _fit(sequences, "dislike_feature_label", tmp_path / "a", epochs=5)
    second = _fit(sequences, "dislike_feature_label", tmp_path / "b", epochs=5)
    history = first.result.history
    assert history["val_ndcg10"].max() > 0.3  # random ranking of 60 items gives ~0.1
    columns = ["train_loss", "grad_norm", "val_ndcg10", "val_recall10"]
    assert history[columns].equals(second.result.history[columns])
    folder = first.checkpoint
    assert sorted(p.name for p in folder.iterdir()) == [
        "checkpoint.json",
        "learning_curve.pdf",
        "learning_curve.png",
        "metrics.csv",
        "weights.pt",
    ]


def test_checkpoint_round_trip_serves_identical_slates(sequences, tmp_path):
    fitted = _fit(sequences, "dislike_feature", tmp_path, kind="sasrec", epochs=1)
    adapter = load_adapter(fitted.checkpoint, fingerprint="world-x")
    again = load_adapter(fitted.checkpoint)
    batch = HistoryBatch.of([*Sequences_to_histories(sequences, 5)])
    assert np.array_equal(adapter.recommend(batch, 10), again.recommend(batch, 10))
    assert adapter.name == "sasrec-dislike_feature"


def test_a_position_bias_checkpoint_trains_and_serves_what_it_learned(sequences, tmp_path):
    """The relative position bias is a learned parameter: training moves it from zero,
    the checkpoint keeps it, and every load serves the same slates."""
    options = {"position_embeddings": False, "position_bias": True}
    fitted = _fit(sequences, "dislike_feature", tmp_path, kind="sasrec", epochs=1, **options)
    adapter = load_adapter(fitted.checkpoint, fingerprint="world-x")
    assert adapter.model.config.position_bias and not adapter.model.config.position_embeddings
    assert adapter.model.distance_bias.abs().sum() > 0  # it starts at zero
    again = load_adapter(fitted.checkpoint)
    torch.testing.assert_close(again.model.distance_bias, adapter.model.distance_bias)
    batch = HistoryBatch.of([*Sequences_to_histories(sequences, 5)])
    assert np.array_equal(adapter.recommend(batch, 10), again.recommend(batch, 10))


def Sequences_to_histories(sequences, n):
    from recommenders import History

    for row in range(n):
        t = sequences.lengths[row]
        yield History(
            sequences.items[row, :t], sequences.feedback[row, :t], sequences.dwell[row, :t]
        )


def test_feedback_blind_variants_ignore_dislikes_exactly(sequences, tmp_path):
    fitted = _fit(sequences, "baseline", tmp_path, epochs=1)
    adapter = load_adapter(fitted.checkpoint)
    items = np.array([[1, 2, 3, 4]])
    dwell = np.ones((1, 4))
    liked = HistoryBatch(items, np.zeros((1, 4), int), dwell, np.array([4]))
    disliked = HistoryBatch(items, np.array([[0, 0, 0, 2]]), dwell, np.array([4]))
    assert np.array_equal(adapter.score(liked), adapter.score(disliked))


def test_exclude_disliked_drops_events_before_the_model(sequences, tmp_path):
    fitted = _fit(sequences, "exclude_disliked", tmp_path, epochs=1)
    adapter = load_adapter(fitted.checkpoint)
    with_dislike = HistoryBatch(
        np.array([[1, 2, 9]]), np.array([[0, 0, 2]]), np.ones((1, 3)), np.array([3])
    )
    without = HistoryBatch(np.array([[1, 2]]), np.array([[0, 0]]), np.ones((1, 2)), np.array([2]))
    assert np.allclose(adapter.score(with_dislike), adapter.score(without))


@pytest.fixture
def checkpoint(tmp_path):
    variant = get_variant("baseline")
    model = build_model(ModelConfig(dim=8, max_len=5, features=variant.features), N_ITEMS)
    return save_checkpoint(tmp_path / "ckpt", model, variant, fingerprint="abc")


def test_checkpoint_errors(checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match="trained on world abc, not on this world"):
        load_adapter(checkpoint, fingerprint="other")

    class Corpus:
        n_items = 7

    with pytest.raises(CheckpointError, match="scores 60 items; the corpus has 7"):
        load_adapter(checkpoint, corpus=Corpus())
    with pytest.raises(CheckpointError, match="is not a folder"):
        load_adapter(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="already exists"):
        save_checkpoint(
            checkpoint, build_model(ModelConfig(dim=8), N_ITEMS), get_variant("baseline"), "x"
        )


def test_corrupt_and_foreign_checkpoints(checkpoint):
    header = json.loads((checkpoint / "checkpoint.json").read_text())
    (checkpoint / "checkpoint.json").write_text(
        json.dumps({**header, "version": CHECKPOINT_VERSION + 1})
    )
    with pytest.raises(CheckpointError, match=f"format version {CHECKPOINT_VERSION + 1}"):
        load_adapter(checkpoint)
    (checkpoint / "checkpoint.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"checkpoint\.json is corrupt"):
        load_adapter(checkpoint)
    (checkpoint / "checkpoint.json").write_text(json.dumps(header))
    (checkpoint / "weights.pt").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match=r"weights\.pt is corrupt"):
        load_adapter(checkpoint)


def test_checkpoint_header_fields_must_have_their_types(checkpoint):
    """A version "1" read as "format version 1; this library reads version 1", an n_items
    of "60" was accepted, and a weights mismatch was cut at torch's heading line."""
    header = json.loads((checkpoint / "checkpoint.json").read_text())
    for change, message in [
        ({"version": str(CHECKPOINT_VERSION)}, f"format version '{CHECKPOINT_VERSION}'"),
        ({"n_items": "60"}, "n_items must be a positive integer, got '60'"),
    ]:
        (checkpoint / "checkpoint.json").write_text(json.dumps({**header, **change}))
        with pytest.raises(CheckpointError, match=re.escape(message)):
            load_adapter(checkpoint)
    (checkpoint / "checkpoint.json").write_text(json.dumps({**header, "n_items": 61}))
    with pytest.raises(CheckpointError, match=r"for GRURecommender: size mismatch") as error:
        load_adapter(checkpoint)
    assert "\n" not in str(error.value)
    (checkpoint / "checkpoint.json").write_text(json.dumps(header))


class _Evil:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_pickled_objects_are_refused(checkpoint, capsys):
    torch.save({"state": _Evil(), "vocabulary": torch.arange(3)}, checkpoint / "weights.pt")
    with pytest.raises(CheckpointError, match="not a tensor-only file"):
        load_adapter(checkpoint)
    assert "pickle code ran" not in capsys.readouterr().out


def test_weights_that_do_not_fit(checkpoint):
    other = build_model(ModelConfig(dim=16, max_len=5), N_ITEMS)
    torch.save(
        {"state": other.state_dict(), "vocabulary": torch.arange(N_ITEMS)},
        checkpoint / "weights.pt",
    )
    with pytest.raises(CheckpointError, match="weights do not fit the model config"):
        load_adapter(checkpoint)


def test_bad_train_config():
    with pytest.raises(ValueError, match="TrainConfig: epochs must be >= 1"):
        TrainConfig(epochs=0)
    # Non-finite settings would train nonsense or write Infinity into checkpoint.json.
    for field in ("lr", "weight_decay", "grad_clip", "max_seconds"):
        for value in (float("nan"), float("inf")):
            with pytest.raises(ValueError, match=f"TrainConfig: {field} must be finite"):
                TrainConfig(**{field: value})
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            TrainConfig(device="cuda")


def test_min_epochs_defers_early_stopping(sequences, tmp_path):
    variant = get_variant("baseline")
    model_config = ModelConfig(dim=8, max_len=12, features=variant.features)
    train_config = TrainConfig(epochs=4, batch_size=32, lr=2e-2, patience=1, min_epochs=3)
    fitted = fit_variant(sequences, variant, model_config, train_config, N_ITEMS, "w", tmp_path)
    assert fitted.result.best_epoch >= 3
    with pytest.raises(ValueError, match="min_epochs must be in"):
        TrainConfig(epochs=2, min_epochs=3)


@pytest.mark.parametrize("variant_name", ["baseline", "exclude_disliked"])
def test_batches_of_short_windows_train(variant_name, tmp_path):
    """A batch whose windows are all shorter than max_len (the inputs are trimmed to the
    longest window) keeps its labels aligned: regression for a mask/shape mismatch."""
    rows = [
        (
            user,
            position,
            (user + position) % N_ITEMS,
            int(Feedback.DISLIKE if position == 1 else 0),
            0.9,
        )
        for user in range(6)
        for position in range(4)
    ]
    frame = pd.DataFrame(rows, columns=["user", "position", "item", "feedback", "dwell"])
    short = Sequences.from_log(validate_log(frame, N_ITEMS))
    variant = get_variant(variant_name)
    model_config = ModelConfig(dim=8, max_len=12, features=variant.features)
    train_config = TrainConfig(epochs=1, batch_size=4, n_holdout=1, positive_loss="softmax_ce")
    fitted = fit_variant(short, variant, model_config, train_config, N_ITEMS, "w", tmp_path)
    assert np.isfinite(fitted.result.history["train_loss"]).all()


def test_a_diverged_training_is_an_error_and_saves_nothing(sequences, tmp_path):
    """A learning rate of 1e30 makes the loss NaN within the first epoch: the fit stops
    with a one-line TrainingDiverged naming the epoch, and no checkpoint is written
    (before: the NaN model ranked every target first and was saved with NDCG@10 1.0)."""
    variant = get_variant("baseline")
    model_config = ModelConfig(kind="gru", dim=8, max_len=12, n_layers=1)
    train_config = TrainConfig(epochs=1, batch_size=32, lr=1e30, seed=0)
    with pytest.raises(TrainingDiverged, match=r"the loss is nan at epoch 1, batch \d+") as error:
        fit_variant(sequences, variant, model_config, train_config, N_ITEMS, "w", tmp_path)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "gru-baseline").exists()
    # Into a folder of its own, not even the folder is left behind.
    with pytest.raises(TrainingDiverged):
        fit_variant(sequences, variant, model_config, train_config, N_ITEMS, "w", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_checkpoint_folder_has_the_umask_mode(sequences, tmp_path):
    """Checkpoint folders used to be created 0700 (tempfile.mkdtemp's mode)."""
    import os

    umask = os.umask(0o022)
    try:
        result = _fit(sequences, "baseline", tmp_path, epochs=1)
    finally:
        os.umask(umask)
    assert (result.checkpoint.stat().st_mode & 0o777) == 0o755


def test_an_interrupted_save_leaves_no_checkpoint(tmp_path):
    """A checkpoint interrupted while its plots were written used to be reused later as
    complete: the metrics and plots are now written inside the folder before it appears."""
    model = build_model(ModelConfig(dim=8), N_ITEMS)

    def interrupted(folder):
        (folder / "metrics.csv").write_text("epoch\n1\n")
        raise KeyboardInterrupt  # as a SIGINT would, mid-plot

    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(
            tmp_path / "m", model, get_variant("baseline"), "w", write_files=interrupted
        )
    assert list(tmp_path.iterdir()) == []  # neither the checkpoint nor its staging folder
    save_checkpoint(tmp_path / "m", model, get_variant("baseline"), "w", write_files=lambda f: None)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["checkpoint.json", "weights.pt"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"batch_size": 10**12}, "batch_size 1000000000000 x max_len 12"),
        ({"n_negatives": 10**12}, "over 1,000,000,000,000 candidates"),
    ],
)
def test_a_training_step_too_large_for_the_machine_is_refused_first(
    sequences, tmp_path, changes, named
):
    """--batch-size and --n-negatives in the billions used to allocate until a
    MemoryError or an OpenMP abort; the estimate (step_bytes) refuses them in one line
    before anything is allocated, and nothing is written."""
    from recommenders.training.loop import step_bytes

    variant = get_variant("baseline")
    model_config = ModelConfig(kind="gru", dim=8, max_len=12, n_layers=1)
    train_config = TrainConfig(epochs=1, seed=0, **changes)
    assert step_bytes(build_model(model_config, N_ITEMS), train_config) > 2**40
    with pytest.raises(ValueError, match=re.escape(named)) as error:
        fit_variant(sequences, variant, model_config, train_config, N_ITEMS, "w", tmp_path)
    assert "\n" not in str(error.value) and "GiB; this machine's cpu has" in str(error.value)
    assert not (tmp_path / "gru-baseline").exists()
    # The default settings are far inside the estimate's bound.
    assert step_bytes(build_model(model_config, N_ITEMS), TrainConfig()) < 2**30
