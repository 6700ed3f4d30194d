"""experiments/listening.py end to end on the quick preset: the study's files, the report
section spliced into an existing report, and a rerun that reuses everything."""

import filecmp

import pytest

from experiments.paper.listening import SECTION_END, SECTION_START

from .conftest import load_cli

LISTENING = load_cli("listening")


@pytest.mark.slow
def test_quick_study_writes_its_section_and_reruns_from_what_it_kept(tmp_path, capsys):
    out, report = tmp_path / "study", tmp_path / "report.md"
    report.write_text("# Report\n\nkept above\n")
    argv = ["--quick", "--arm", "gru-treatment", "--arm", "sasrec-treatment"]
    argv += ["--arm", "sasrec-no-positions"]
    argv += ["--out", str(out), "--report", str(report), "--no-progress"]
    assert LISTENING.main(argv) == 0
    files = ("responsiveness.csv", "probe.csv", "models.csv", "heldout.csv", "ablation.png")
    for name in (*files, "study.json"):
        assert (out / name).is_file(), name
    text = report.read_text()
    assert text.startswith("# Report\n\nkept above\n")
    assert text.count(SECTION_START) == 1 and text.count(SECTION_END) == 1
    row = next(line for line in text.splitlines() if line.startswith("| sasrec-no-positions |"))
    assert "| no position embeddings" in row
    # held-out NDCG@10 paired with the plain SASRec: a difference and its interval
    assert row.rstrip(" |").split("| ")[-1].count("[") == 1
    assert "### What reaches the state at the fork" in text
    assert "python3 experiments/listening.py --quick --arm gru-treatment" in text
    weights = out / "seed-0" / "models" / "sasrec-no-positions" / "weights.pt"
    stamp = weights.stat().st_mtime_ns
    (tmp_path / "first.csv").write_bytes((out / "responsiveness.csv").read_bytes())
    assert LISTENING.main(argv) == 0
    assert weights.stat().st_mtime_ns == stamp  # nothing retrained
    assert filecmp.cmp(out / "responsiveness.csv", tmp_path / "first.csv", shallow=False)
    assert report.read_text().count(SECTION_START) == 1
    capsys.readouterr()


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    assert LISTENING.main(["--arm", "sasrec-bogus", "--out", str(tmp_path)]) == 2
    assert "invalid choice: 'sasrec-bogus'" in capsys.readouterr().err
    assert LISTENING.main(["--quick", "--seeds", "x", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: --seeds must be comma-separated integers, got 'x'\n"
