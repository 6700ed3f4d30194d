"""``--config FILE`` reruns a run with its recorded options; ``--world-param`` sets the
generated world's parameters (experiments.arguments, simulator.world.world)."""

import filecmp
import json
import sys

import pytest

from experiments.arguments import Parser, parse_with_config
from tests.experiments.conftest import load_cli

SMALL = ["--n-users", "40", "--k", "5", "--n-resamples", "200", "--no-progress"]


@pytest.fixture(scope="module")
def cli():
    return load_cli("responsiveness")


def run(cli, monkeypatch, argv):
    """``main(argv)`` called from Python, as a user's script would: run.json records
    ``argv`` (not the test runner's command line), so ``--config`` reruns it."""
    monkeypatch.setattr(sys, "argv", ["pytest", "-k", "an unrelated command line"])
    return cli.main(argv)


def test_rerun_from_run_json_and_from_a_yaml_mapping(cli, monkeypatch, tmp_path):
    first = tmp_path / "first"
    argv = ["--adapter", "filter:popularity", *SMALL, "--seed", "3", "--out", str(first)]
    assert run(cli, monkeypatch, [*argv, "--world-param", "corpus.n_items=900"]) == 0
    record = json.loads((first / "run.json").read_text())
    assert record["world"]["config"]["corpus"]["n_items"] == 900
    assert record["command"][1:] == [*argv, "--world-param", "corpus.n_items=900"]
    again = tmp_path / "again"
    assert run(cli, monkeypatch, ["--config", str(first / "run.json"), "--out", str(again)]) == 0
    assert filecmp.cmp(first / "responsiveness.csv", again / "responsiveness.csv", shallow=False)
    assert json.loads((again / "run.json").read_text())["world"] == record["world"]
    mapping = tmp_path / "run.yaml"
    mapping.write_text(
        "adapter: [filter:popularity]\nn_users: 40\nk: 5\nn-resamples: 200\n"
        "no_progress: true\nseed: 3\nworld_param: [corpus.n_items=900]\n"
    )
    from_yaml = tmp_path / "yaml"
    assert run(cli, monkeypatch, ["--config", str(mapping), "--out", str(from_yaml)]) == 0
    assert filecmp.cmp(
        first / "responsiveness.csv", from_yaml / "responsiveness.csv", shallow=False
    )


def parser() -> Parser:
    parser = Parser()
    parser.add_argument("--adapter", action="append")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--out", default="runs/x")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--pair", action="append", nargs=2, default=[])
    return parser


def test_later_options_override_and_replace_repeatable_ones(tmp_path):
    record = tmp_path / "run.json"
    command = ["python3", "experiments/x.py", "--adapter", "a", "--adapter", "b", "--k", "5"]
    record.write_text(json.dumps({"command": command, "versions": {}}))
    args = parse_with_config(parser(), ["--config", str(record), "--out", "new", "--overwrite"])
    assert (args.adapter, args.k, args.out, args.overwrite) == (["a", "b"], 5, "new", True)
    args = parse_with_config(parser(), ["--k", "7", "--config", str(record), "--adapter", "c"])
    assert (args.adapter, args.k) == (["c"], 5)  # the file overrides what comes before it
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"pair": [["x", "1"]], "k": 9, "overwrite": False}))
    args = parse_with_config(parser(), ["--config", str(mapping)])
    assert (args.pair, args.k, args.overwrite, args.adapter) == ([["x", "1"]], 9, False, None)
    assert parse_with_config(parser(), ["--k", "3"]).k == 3  # without --config: parse_args


def error_of(capsys, argv) -> str:
    with pytest.raises(SystemExit) as done:
        parse_with_config(parser(), argv)
    assert done.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_errors_are_one_line_naming_the_file_and_the_option(tmp_path, capsys):
    missing = tmp_path / "none.json"
    assert str(missing) in error_of(capsys, ["--config", str(missing)])
    record = tmp_path / "run.json"
    record.write_text(json.dumps({"versions": {}, "files": {}}))
    assert '"command"' in error_of(capsys, ["--config", str(record)])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("k: 3\nbogus_option: 1\n")
    line = error_of(capsys, ["--config", str(mapping)])
    assert str(mapping) in line and "bogus_option" in line
    mapping.write_text("k: nope\n")
    line = error_of(capsys, ["--config", str(mapping)])
    assert str(mapping) in line and "--k" in line


def test_world_param_errors_list_the_known_keys(cli, tmp_path, capsys):
    for value, expected in (
        ("corpus.nope=3", "unknown world parameter 'corpus.nope'"),
        ("corpus.n_items=abc", "corpus.n_items takes a whole number"),
        ("response.dislike_averse=true", "takes a number"),
    ):
        assert cli.main([*SMALL, "--world-param", value, "--out", str(tmp_path / "x")]) == 2
        line = capsys.readouterr().err.strip()
        assert expected in line and "known: corpus.n_items" in line and "\n" not in line
    code = cli.main(
        [*SMALL, "--world-param", "corpus.n_creators=9000", "--out", str(tmp_path / "x")]
    )
    assert code == 2 and "n_creators" in capsys.readouterr().err


def test_make_logs_and_live_ab_take_world_params(tmp_path):
    make_logs = load_cli("make_logs")
    out = tmp_path / "logs"
    argv = ["--n-users", "20", "--n-steps", "5", "--world-param", "corpus.n_items=700"]
    assert make_logs.main([*argv, "--out", str(out)]) == 0
    assert (
        json.loads((out / "logs.json").read_text())["world"]["config"]["corpus"]["n_items"] == 700
    )
    live_ab = load_cli("live_ab")
    assert live_ab.parse_args(["--world-param", "corpus.dim=8"]).world_param == [("corpus.dim", 8)]


def test_world_param_with_a_world_file_is_refused_everywhere(tmp_path, capsys):
    """A saved world is not generated, so its parameters cannot be overridden: each
    command says so in one line instead of ignoring the option."""
    from simulator.world import World

    world = tmp_path / "world.npz"
    World.default(1, 20).save(world)
    common = ["--world", str(world), "--world-param", "corpus.n_items=700"]
    for name, extra in (
        ("responsiveness", ["--n-users", "20", "--k", "3"]),
        ("live_ab", ["--n-users", "20", "--days", "2"]),
        ("make_logs", ["--n-users", "20", "--n-steps", "3"]),
    ):
        out = tmp_path / name
        assert load_cli(name).main([*common, *extra, "--out", str(out)]) == 2, name
        line = capsys.readouterr().err.strip()
        assert line == "error: --world-param applies to a generated world, not to a --world file"
        assert not out.exists(), name


def test_make_logs_and_train_rerun_from_their_records(monkeypatch, tmp_path):
    """make_logs.py reruns from its logs.json; train.py takes a mapping of options:
    the logs and the trained weights are byte-identical."""
    make_logs, train = load_cli("make_logs"), load_cli("train")
    first = tmp_path / "logs"
    argv = ["--n-users", "60", "--n-steps", "20", "--log-seed", "4", "--out", str(first)]
    assert run(make_logs, monkeypatch, argv) == 0
    again = tmp_path / "again"
    rerun = ["--config", str(first / "logs.json"), "--out", str(again)]
    assert run(make_logs, monkeypatch, rerun) == 0
    for name in ("interactions.csv.gz", "world.npz"):
        assert filecmp.cmp(first / name, again / name, shallow=False), name
    options = ["--logs", str(first), "--variant", "dislike_feature", "--epochs", "1"]
    options += ["--dim", "8", "--max-len", "10", "--out", str(tmp_path / "m1")]
    assert run(train, monkeypatch, options) == 0
    mapping = tmp_path / "train.yaml"
    mapping.write_text(
        f"logs: {first}\nvariant: [dislike_feature]\nepochs: 1\ndim: 8\nmax_len: 10\n"
    )
    assert run(train, monkeypatch, ["--config", str(mapping), "--out", str(tmp_path / "m2")]) == 0
    weights = [tmp_path / m / "gru-dislike_feature" / "weights.pt" for m in ("m1", "m2")]
    assert filecmp.cmp(*weights, shallow=False)
