"""make_logs -> train -> responsiveness --checkpoint, end to end on a tiny world."""

import json

import pandas as pd
import pytest

from tests.experiments.conftest import load_cli


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    logs, models = root / "logs", root / "models"
    assert (
        load_cli("make_logs").main(["--n-users", "120", "--n-steps", "30", "--out", str(logs)]) == 0
    )
    assert (
        load_cli("train").main(
            [
                "--logs",
                str(logs),
                "--variant",
                "baseline",
                "--variant",
                "dislike_feature_label",
                "--epochs",
                "1",
                "--dim",
                "16",
                "--max-len",
                "20",
                "--out",
                str(models),
            ]
        )
        == 0
    )
    return root, logs, models


def test_logs_and_checkpoints_are_written(pipeline):
    _, logs, models = pipeline
    assert sorted(p.name for p in logs.iterdir()) == [
        "interactions.csv.gz",
        "logs.json",
        "world.npz",
    ]
    log = pd.read_csv(logs / "interactions.csv.gz")
    assert len(log) == 120 * 30
    record = json.loads((logs / "logs.json").read_text())
    assert record["rows"] == 3600 and record["world"]["fingerprint"]
    assert sorted(p.name for p in models.iterdir()) == ["gru-baseline", "gru-dislike_feature_label"]
    metrics = pd.read_csv(models / "gru-baseline" / "metrics.csv")
    assert {"train_loss", "val_ndcg10", "val_disliked_in_top10", "events_per_second"} <= set(
        metrics
    )


def test_responsiveness_reads_the_checkpoints(pipeline, capsys):
    root, logs, models = pipeline
    out = root / "resp"
    code = load_cli("responsiveness").main(
        [
            "--world",
            str(logs / "world.npz"),
            "--checkpoint",  # as a shell expands --checkpoint DIR/*
            *map(str, sorted(models.iterdir())),
            "--n-users",
            "60",
            "--k",
            "5",
            "--n-resamples",
            "200",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    per_user = pd.read_csv(out / "per_user.csv.gz")
    assert set(per_user["model"]) == {"gru-baseline", "gru-dislike_feature_label"}
    # A model that cannot see dislikes serves identical slates in both branches.
    blind = per_user[per_user["model"] == "gru-baseline"].pivot(
        index="user", columns="branch", values=["content", "creator"]
    )
    for kind in ("content", "creator"):
        assert blind[kind]["long_dwell"].equals(blind[kind]["long_dwell+dislike"])


def test_checkpoint_for_another_world_is_refused(pipeline, tmp_path, capsys):
    _, _, models = pipeline
    code = load_cli("responsiveness").main(
        [
            "--checkpoint",
            str(models / "gru-baseline"),
            "--n-users",
            "10",
            "--k",
            "3",
            "--no-progress",
            "--out",
            str(tmp_path / "x"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "was trained on world" in err and "not on this world" in err


def test_train_errors_are_one_line(tmp_path, capsys):
    code = load_cli("train").main(["--logs", str(tmp_path), "--out", str(tmp_path / "m")])
    assert code == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"error: logs folder {tmp_path} has no logs.json") and err.count("\n") == 1
    )
    code = load_cli("train").main(["--variant", "nope", "--logs", str(tmp_path)])
    assert code == 2 and "unknown variant 'nope'" in capsys.readouterr().err


def test_feedback_filter_around_a_trained_model(pipeline):
    root, logs, models = pipeline
    out = root / "filtered"
    spec = f"filter:checkpoint:{models / 'gru-baseline'}"
    code = load_cli("responsiveness").main(
        [
            "--world",
            str(logs / "world.npz"),
            "--adapter",
            spec,
            "--n-users",
            "40",
            "--k",
            "5",
            "--n-resamples",
            "200",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    per_user = pd.read_csv(out / "per_user.csv.gz")
    disliked = per_user[per_user["branch"] == "long_dwell+dislike"]
    # The heuristic removes every item of the creator the user just disliked.
    assert (disliked["creator"] == 0).all()
    assert set(per_user["model"]) == {spec}


def test_logs_beside_another_world_are_refused(pipeline, tmp_path, capsys):
    """A logs folder whose world.npz is not the world that drew its logs (here: another
    seed's world copied in) used to train silently, stamping the checkpoint with the
    wrong world; now train.py stops with a one-line error naming both worlds."""
    import shutil

    _, logs, _ = pipeline
    mixed = tmp_path / "mixed"
    shutil.copytree(logs, mixed)
    other = tmp_path / "other"
    assert load_cli("make_logs").main(["--seed", "7", "--n-users", "20", "--n-steps", "3",
                                       "--out", str(other)]) == 0  # fmt: skip
    shutil.copy(other / "world.npz", mixed / "world.npz")
    capsys.readouterr()
    code = load_cli("train").main(
        ["--logs", str(mixed), "--epochs", "1", "--out", str(tmp_path / "m")]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "world.npz is not the file logs.json lists (a mixed folder)" in err
    # A logs.json without the file list (the paper study's layout) is still checked
    # against the world it names.
    record = json.loads((mixed / "logs.json").read_text())
    del record["files"]
    (mixed / "logs.json").write_text(json.dumps(record))
    code = load_cli("train").main(
        ["--logs", str(mixed), "--epochs", "1", "--out", str(tmp_path / "m")]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "logs.json names world" in err and "the logs were drawn from another world" in err
    assert not (tmp_path / "m").exists()
    (mixed / "logs.json").unlink()
    code = load_cli("train").main(["--logs", str(mixed), "--out", str(tmp_path / "m")])
    assert code == 2 and "has no logs.json" in capsys.readouterr().err


def test_make_logs_never_replaces_a_world_silently(tmp_path, capsys):
    """A folder holding only a world.npz used to have it replaced by make_logs.py."""
    out = tmp_path / "logs"
    out.mkdir()
    (out / "world.npz").write_bytes(b"someone's world")
    make_logs = load_cli("make_logs")
    assert make_logs.main(["--n-users", "5", "--n-steps", "2", "--out", str(out)]) == 2
    assert "already holds world.npz; pass --overwrite" in capsys.readouterr().err
    assert (out / "world.npz").read_bytes() == b"someone's world"
    assert (
        make_logs.main(["--n-users", "5", "--n-steps", "2", "--out", str(out), "--overwrite"]) == 0
    )


def test_logs_the_world_cannot_host_fail_before_simulating(tmp_path, capsys):
    """make_logs.py --n-users 2 --n-steps 5001 used to fail after 84 s of simulation."""
    code = load_cli("make_logs").main(
        ["--n-users", "2", "--n-steps", "5001", "--out", str(tmp_path)]
    )
    assert code == 2
    assert (
        "n_steps + slate_size - 1 = 5010 exceeds the world's 5000 items" in capsys.readouterr().err
    )


def test_resume_keeps_what_finished_and_trains_the_rest(pipeline, tmp_path, capsys):
    """train.py used to refuse a multi-variant run whose first checkpoints existed; with
    --resume it keeps those trained with this exact config and trains the others."""
    import shutil

    _, logs, models = pipeline
    out = tmp_path / "models"
    shutil.copytree(models, out)
    shutil.rmtree(out / "gru-dislike_feature_label")
    args = ["--logs", str(logs), "--variant", "baseline", "--variant", "dislike_feature_label",
            "--epochs", "1", "--dim", "16", "--max-len", "20", "--out", str(out)]  # fmt: skip
    before = (out / "gru-baseline" / "weights.pt").read_bytes()
    capsys.readouterr()
    assert load_cli("train").main([*args, "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "gru-baseline: kept (--resume" in printed
    assert (out / "gru-dislike_feature_label" / "checkpoint.json").is_file()
    assert (out / "gru-baseline" / "weights.pt").read_bytes() == before
    assert load_cli("train").main([*args, "--resume", "--dim", "8"]) == 2
    assert "was trained with another model" in capsys.readouterr().err
