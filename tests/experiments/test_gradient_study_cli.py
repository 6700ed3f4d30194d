"""experiments/gradient_study.py: files, stdout table, bad arguments."""

import pandas as pd

from tests.experiments.conftest import load_cli


def test_cli_writes_files(tmp_path, capsys):
    out = tmp_path / "study"
    code = load_cli("gradient_study").main(
        ["--out", str(out), "--n-items", "50", "--steps", "5", "--seed", "1"]
    )
    assert code == 0
    for name in ("gradients", "instability"):
        for suffix in (".csv", ".png", ".pdf"):
            assert (out / f"{name}{suffix}").stat().st_size > 0
    gradients = pd.read_csv(out / "gradients.csv")
    assert list(gradients.columns) == ["loss", "p", "loss_value", "dL_dp", "dL_dz"]
    assert gradients["p"].min() < 1e-11  # tiny p survives the CSV float format
    instability = pd.read_csv(out / "instability.csv")
    assert len(instability) == 2 * 5
    text = capsys.readouterr().out
    for p in ("1e-01", "1e-03", "1e-06", "1e-09"):
        assert p in text
    assert "negative_weight_ce" in text and "not_to_recommend" in text


def test_cli_bad_args_exit_2(tmp_path, capsys):
    cli = load_cli("gradient_study")
    for argv in (["--steps", "0"], ["--n-items", "1"]):
        assert cli.main([*argv, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ")
    assert not (tmp_path / "x").exists()
