import json
import os

import pandas as pd
import pytest

from simulator import SIMILARITY_KINDS, World

FULL = os.environ.get("RESP_FULL") == "1"
SMALL = ["--n-users", "40", "--k", "5", "--n-resamples", "200", "--no-progress"]


def test_smoke_writes_every_output(responsiveness_cli, tmp_path, capsys):
    out = tmp_path / "run"
    code = responsiveness_cli.main(
        [
            "--adapter",
            "popularity",
            "--adapter",
            "filter:popularity",
            *SMALL,
            "--horizon",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "responsiveness.csv",
            "per_user.csv.gz",
            "run.json",
            "responsiveness.png",
            "responsiveness.pdf",
            "horizon.png",
            "horizon.pdf",
        ]
    )
    assert (out / "responsiveness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "responsiveness.csv")
    assert list(table["model"].unique()) == ["popularity", "filter:popularity"]
    assert list(dict.fromkeys(table["kind"])) == list(SIMILARITY_KINDS)  # every kind, in order
    assert sorted(table["step"].unique()) == [6, 7, 8]
    per_user = pd.read_csv(out / "per_user.csv.gz")
    assert len(per_user) == 2 * 40 * 2 * 3  # models x users x branches x steps
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["k"] == 5 and record["seed"] == 0
    assert "torch" in record["versions"] and record["world"]["fingerprint"]
    assert list(record["similarity"]) == list(SIMILARITY_KINDS)
    printed = capsys.readouterr().out
    assert "filter:popularity" in printed and "95% CI" in printed


def test_same_seed_gives_byte_identical_csv(responsiveness_cli, tmp_path):
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = ["--adapter", "filter:popularity", "--adapter", "random", *SMALL, "--seed", "4"]
        assert responsiveness_cli.main([*args, "--out", str(out)]) == 0
        outputs.append(out)
    for name in ("responsiveness.csv", "per_user.csv.gz"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes()


def test_saved_world_reloads_to_the_same_result(responsiveness_cli, tmp_path):
    world = tmp_path / "world.npz"
    args = ["--adapter", "filter:popularity", *SMALL]
    assert (
        responsiveness_cli.main([*args, "--save-world", str(world), "--out", str(tmp_path / "a")])
        == 0
    )
    assert World.load(world).n_users == 40
    assert (
        responsiveness_cli.main([*args, "--world", str(world), "--out", str(tmp_path / "b")]) == 0
    )
    a = (tmp_path / "a" / "responsiveness.csv").read_bytes()
    assert a == (tmp_path / "b" / "responsiveness.csv").read_bytes()


def test_save_world_never_overwrites_or_is_ignored(responsiveness_cli, tmp_path, capsys):
    """--save-world onto an existing file used to replace it, and beside --world it
    silently wrote nothing; both are one-line errors before any simulation."""
    world = tmp_path / "world.npz"
    world.write_bytes(b"precious")
    args = ["--adapter", "popularity", *SMALL, "--out", str(tmp_path / "a")]
    assert responsiveness_cli.main([*args, "--save-world", str(world)]) == 2
    assert "--save-world" in capsys.readouterr().err and world.read_bytes() == b"precious"
    assert not (tmp_path / "a").exists()
    assert responsiveness_cli.main([*args, "--save-world", str(world), "--world", str(world)]) == 2
    assert "with --world the world is already a file" in capsys.readouterr().err
    assert responsiveness_cli.main([*args, "--save-world", str(world), "--overwrite"]) == 0
    assert World.load(world).n_users == 40


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n-users", "0"], "error: n_users must be >= 1, got 0"),
        (["--n-users", "-3"], "error: n_users must be >= 1, got -3"),
        (["--k", "0"], "error: k must be >= 1, got 0"),
        (["--slate-size", "6000"], "error: slate_size 6000 exceeds the world's 5000 items"),
        (["--adapter", "nonsense"], "error: unknown adapter 'nonsense'"),
        (
            ["--adapter", "no_such_module:Thing"],
            "error: adapter 'no_such_module:Thing': cannot import",
        ),
        (
            ["--adapter", "simulator:World"],
            "error: adapter 'simulator:World' is not a RecommenderAdapter subclass",
        ),
        (["--branches", "long_dwell,shout"], "error: unknown branch action 'shout'"),
        (["--checkpoint", "model.pt"], "error: checkpoint model.pt is not a folder"),
        (
            ["--batch-window", "nan"],
            "error: argument --batch-window: must be a finite number, got 'nan'",
        ),
        (["--n-resamples", "10000000000"], "error: n_resamples must be in [100, 1,000,000]"),
        (["--seed", "-1"], "error: argument --seed: must be in [0, 2**63), got -1"),
        (["--k", "x"], "error: argument --k: invalid int value: 'x'"),
        (
            ["--batch-window", "inf"],
            "error: argument --batch-window: must be a finite number, got 'inf'",
        ),
    ],
)
def test_bad_input_is_one_clear_line(responsiveness_cli, tmp_path, capsys, args, message):
    # Later options win in argparse, so the case's own values come last.
    code = responsiveness_cli.main(
        ["--n-users", "10", "--k", "3", "--no-progress", "--out", str(tmp_path / "x"), *args]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(message), err
    assert "\n" not in err


def test_bad_world_files(responsiveness_cli, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"garbage")
    code = responsiveness_cli.main(
        ["--world", str(corrupt), "--out", str(tmp_path / "x"), "--no-progress"]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith(
        f"error: world file {corrupt} is not a readable world archive"
    )


def test_refuses_to_overwrite(responsiveness_cli, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--adapter", "popularity", *SMALL, "--out", str(out)]
    assert responsiveness_cli.main(args) == 0
    capsys.readouterr()
    assert responsiveness_cli.main(args) == 2
    assert "already holds responsiveness.csv" in capsys.readouterr().err
    assert responsiveness_cli.main([*args, "--overwrite"]) == 0


@pytest.mark.slow
def test_acceptance_popularity_blind_filter_responsive(responsiveness_cli, tmp_path):
    """Popularity's CI contains 0; FeedbackFilter(popularity) is clearly negative.

    Default: 400 users, k = 20. Full size (RESP_FULL=1): the paper's 2000 users,
    k = 50, same code.
    """
    n_users, k = ("2000", "50") if FULL else ("400", "20")
    out = tmp_path / "run"
    code = responsiveness_cli.main(
        [
            "--adapter",
            "popularity",
            "--adapter",
            "filter:popularity",
            "--n-users",
            n_users,
            "--k",
            k,
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    table = pd.read_csv(out / "responsiveness.csv").set_index(["model", "kind"])
    for kind in ("content", "creator"):
        row = table.loc[("popularity", kind)]
        assert row.ci_low <= 0 <= row.ci_high
    creator = table.loc[("filter:popularity", "creator")]
    assert creator.relative_change < -0.5
    assert creator.ci_high < 0


@pytest.mark.parametrize("sub, message", [("", "exists and is not a folder"), ("x", "is a file")])
def test_an_unwritable_out_fails_before_the_simulation(
    responsiveness_cli, tmp_path, capsys, sub, message
):
    """--out onto a file used to fail with a traceback after the whole simulation."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / sub if sub else blocker
    code = responsiveness_cli.main(["--adapter", "popularity", *SMALL, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_branch_names_with_spaces_are_the_names(responsiveness_cli, tmp_path):
    """--branches " long_dwell, long_dwell+dislike" used to end in KeyError: ' long_dwell'."""
    args = ["--adapter", "popularity", *SMALL, "--out", str(tmp_path / "a")]
    assert responsiveness_cli.main([*args, "--branches", " long_dwell, long_dwell+dislike"]) == 0
    table = pd.read_csv(tmp_path / "a" / "responsiveness.csv")
    assert set(table["reference"]) == {"long_dwell"}


def test_a_failing_adapter_keeps_the_models_measured_before_it(
    responsiveness_cli, tmp_path, capsys
):
    """An adapter that raised mid-run used to lose the results of every model measured
    before it; they are now written (run.json names the failure) and the error is one line."""
    out = tmp_path / "run"
    spec = "tests.experiments.failing_adapter:Fails"
    args = ["--adapter", "popularity", "--adapter", spec, *SMALL, "--out", str(out)]
    assert responsiveness_cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "adapter Fails: recommend raised RuntimeError: the service is down" in err
    assert f"the 1 model(s) measured before it are in {out}" in err
    table = pd.read_csv(out / "responsiveness.csv")
    assert set(table["model"]) == {"popularity"}
    record = json.loads((out / "run.json").read_text())
    assert record["failed"]["model"] == spec


@pytest.mark.parametrize("kind", ["gru", "sasrec"])
def test_the_state_cache_gives_the_results_of_full_recomputation(
    responsiveness_cli, tmp_path, kind
):
    """Past max_len (the window slides), over a fork and three steps after it."""
    import torch

    from recommenders.checkpoint import save_checkpoint
    from recommenders.models import ModelConfig, build_model
    from recommenders.variants import get_variant

    world = World.default(0, 40)
    variant = get_variant("dislike_feature_label")
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(kind=kind, dim=16, max_len=6, features=variant.features),
        world.corpus.n_items,
    )
    save_checkpoint(tmp_path / "model", model, variant, world.fingerprint)
    outputs = {}
    for mode in ([], ["--no-cache"], ["--cache-mib", "1"]):
        out = tmp_path / ("-".join(mode) or "cached")
        args = ["--checkpoint", str(tmp_path / "model"), *SMALL, "--k", "8", "--horizon", "3"]
        assert responsiveness_cli.main([*args, *mode, "--out", str(out)]) == 0
        outputs[out.name] = [(out / name).read_bytes() for name in ("responsiveness.csv",)]
        outputs[out.name].append(pd.read_csv(out / "per_user.csv.gz").to_csv().encode())
    assert outputs["cached"] == outputs["--no-cache"] == outputs["--cache-mib-1"]


def test_a_bad_cache_bound_is_one_line(responsiveness_cli, tmp_path, capsys):
    assert responsiveness_cli.main(["--cache-mib", "0", "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.strip() == "error: argument --cache-mib: must be >= 1 MiB, got 0"


KEYWORD_SPEC = "tests.experiments.keyword_adapter:Shifted"
KEYWORD_ARGS = ["--adapter-arg", "random", "seed=5", "--adapter-arg", KEYWORD_SPEC, "offset=3"]


def test_adapter_arguments_reach_the_constructors(responsiveness_cli, tmp_path):
    """--adapter-arg and --adapter-args give the same run; without them another one."""
    args = ["--adapter", "random", "--adapter", KEYWORD_SPEC, *SMALL]
    by_option = [*args, *KEYWORD_ARGS, "--adapter-arg", KEYWORD_SPEC, "label=wide"]
    file = tmp_path / "args.json"
    file.write_text(json.dumps({"random": {"seed": 5}, KEYWORD_SPEC: {"offset": 3}}))
    runs = {
        "option": by_option,
        "file": [*args, "--adapter-args", str(file), "--adapter-arg", KEYWORD_SPEC, "label=wide"],
        "defaults": args,
    }
    for name, argv in runs.items():
        assert responsiveness_cli.main([*argv, "--out", str(tmp_path / name)]) == 0, name
    per_user = {
        name: pd.read_csv(tmp_path / name / "per_user.csv.gz") for name in ("option", "file")
    }
    for name in ("responsiveness.csv", "per_user.csv.gz"):
        assert (tmp_path / "option" / name).read_bytes() == (tmp_path / "file" / name).read_bytes()
    defaults = pd.read_csv(tmp_path / "defaults" / "per_user.csv.gz")
    for model in ("random", KEYWORD_SPEC):  # each adapter's own arguments changed its slates
        assert not per_user["option"][per_user["option"]["model"] == model].equals(
            defaults[defaults["model"] == model]
        ), model
    record = json.loads((tmp_path / "option" / "run.json").read_text())
    assert record["adapter_args"] == {
        "random": {"seed": 5},
        KEYWORD_SPEC: {"offset": 3, "label": "wide"},
    }
    assert "adapter_args" not in json.loads((tmp_path / "defaults" / "run.json").read_text())


@pytest.mark.parametrize(
    "executor", [[], ["--executor", "processes", "--workers", "2"]], ids=["local", "processes"]
)
def test_adapter_arguments_reach_sharded_runs(responsiveness_cli, tmp_path, capsys, executor):
    """Shard workers build each model with its arguments: the tables equal one process's,
    the plan records the arguments, and shards of other arguments are not reused."""
    args = ["--adapter", "random", "--adapter", KEYWORD_SPEC, *SMALL, *KEYWORD_ARGS]
    assert responsiveness_cli.main([*args, "--out", str(tmp_path / "one")]) == 0
    sharded = tmp_path / "sharded"
    assert responsiveness_cli.main([*args, "--shards", "3", *executor, "--out", str(sharded)]) == 0
    for name in ("responsiveness.csv", "per_user.csv.gz"):
        assert (sharded / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    plan = json.loads((sharded / "shards" / "plan.json").read_text())
    assert plan["arguments"] == {"random": {"seed": 5}, KEYWORD_SPEC: {"offset": 3}}
    partial = ["--out", str(tmp_path / "partial")]
    assert responsiveness_cli.main([*args, "--shard", "1/3", *partial]) == 0
    capsys.readouterr()
    assert responsiveness_cli.main([*args[:-1], "offset=4", "--shard", "2/3", *partial]) == 2
    assert "differs in: arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--adapter", KEYWORD_SPEC, "--adapter-arg", KEYWORD_SPEC, "foo=1"],
            f"error: adapter '{KEYWORD_SPEC}' takes no argument 'foo' (it takes: offset, label, "
            "weights)",
        ),
        (
            ["--adapter", "random", "--adapter-arg", "random", "seed"],
            "error: adapter 'random': --adapter-arg 'seed' is not key=value",
        ),
        (
            ["--adapter", "random", "--adapter-arg", "popularity", "exclude_consumed=false"],
            "error: --adapter-arg for adapter 'popularity', which is not measured (measured: "
            "random)",
        ),
        (
            ["--adapter", KEYWORD_SPEC, "--adapter-arg", KEYWORD_SPEC, "offset=-2"],
            f"error: adapter '{KEYWORD_SPEC}': Shifted(corpus, offset=-2) failed: ValueError: "
            "offset must be a whole number >= 0, got -2",
        ),
        (
            ["--adapter", "random", "--adapter-arg", "random", "seed=[1]"],
            "error: adapter 'random' with seed=[1] failed: TypeError:",
        ),
        (
            ["--adapter", "random", "--adapter-args", "no/such/file.json"],
            "error: --adapter-args no/such/file.json: cannot read it",
        ),
        (["--adapter-arg", "random"], "error: argument --adapter-arg: expected 2 arguments"),
    ],
)
def test_bad_adapter_arguments_are_one_line(responsiveness_cli, tmp_path, capsys, args, message):
    out = tmp_path / "x"
    assert responsiveness_cli.main([*SMALL, "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err
    assert not out.exists() or not any(out.iterdir())
