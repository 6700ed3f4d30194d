"""The results report end to end, in its quick mode (the same code on a small world)."""

import pandas as pd
import pytest

from tests.experiments.conftest import load_cli

results = load_cli("results")


@pytest.mark.slow
def test_quick_report_regenerates_and_the_ordering_holds(tmp_path):
    """The results report in quick mode: one command trains the five variants, measures
    them, runs the live A/B, the gradient study and the sensitivity sweep, and writes the
    report; feature+label responds more than feature-only (non-overlapping CIs), which
    responds (CI below 0), while the feedback-blind baseline does not (CI contains 0)."""
    out = tmp_path / "results"
    assert results.main(["--quick", "--out", str(out), "--no-progress"]) == 0
    checks = pd.read_csv(out / "fig3b" / "checks.csv")
    paper_kinds = checks[checks["kind"].isin(["content", "creator"])]  # Fig. 3b's two kinds
    assert len(paper_kinds) == 2 and paper_kinds["holds"].all(), checks.to_string()

    table = pd.read_csv(out / "fig3b" / "fig3b.csv")
    first = table[(table["step"] == table["step"].min()) & (table["seed"] == "pooled")]
    dislike = first[first["branch"] == "long_dwell+dislike"].set_index(["model", "kind"])
    # The downstream filter removes every item of the disliked creator.
    assert dislike.loc[("filter:baseline", "creator"), "relative_change"] == -1.0
    # A skip is a short dwell: only the dwell-aware skip_label model can respond to it.
    skip = first[first["branch"] == "skip"].set_index(["model", "kind"])
    for model in ("baseline", "dislike_feature", "dislike_feature_label", "exclude_disliked"):
        assert skip.loc[(model, "content"), "relative_change"] == 0.0

    summary = pd.read_csv(out / "live_ab" / "live_ab_summary.csv")
    assert set(summary["arm"]) == {
        "dislike_feature",
        "dislike_feature_label",
        "exclude_disliked",
        "skip_label",
        "filter:baseline",
    }
    report = (out / "results.md").read_text()
    for heading in ("## 1. Fig. 3b", "## 2. Other", "## 3. Simulated", "## 4. Loss", "## 5. Sens"):
        assert heading in report
    for figure in ("fig3b", "horizon", "live_ab", "gradients", "sensitivity"):
        assert (out / "results_figures" / f"{figure}.png").is_file()

    # A rerun reuses every checkpoint and measurement and gives the same numbers.
    before = (out / "fig3b" / "fig3b.csv").read_bytes()
    weights = (out / "fig3b" / "seed-0" / "models" / "gru-baseline" / "weights.pt").stat()
    assert results.main(["--quick", "--out", str(out), "--no-progress", "--stage", "fig3b"]) == 0
    assert (out / "fig3b" / "fig3b.csv").read_bytes() == before
    after = (out / "fig3b" / "seed-0" / "models" / "gru-baseline" / "weights.pt").stat()
    assert after.st_mtime_ns == weights.st_mtime_ns


def test_bad_arguments_give_one_line_errors(tmp_path, capsys):
    out = str(tmp_path / "r")
    quiet = ["--out", out, "--no-progress"]
    assert results.main(["--quick", "--seeds", "a,b", *quiet]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --seeds must be comma-separated integers, got 'a,b'"
    assert results.main(["--quick", "--sweep", "nonsense", *quiet]) == 2
    assert "--sweep must look like PARAM=V1,V2" in capsys.readouterr().err
    assert results.main(["--quick", "--sweep", "corpus.nope=1", *quiet]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown world parameter 'corpus.nope'") and err.count("\n") == 1
    assert results.main(["--quick", "--variant", "nope", *quiet]) == 2
    assert "unknown variant 'nope'" in capsys.readouterr().err
