"""Property: any value of a numeric option gives exit code 0 or 2, and a 2 is one line
that names the option when the option's value is what is wrong.

Every command runs with an --out that is an existing file, so a value that passes
validation ends at the output check (one line, naming --out) before any work (data,
logs or a world are read only after it): the property is checked in milliseconds
per example.
"""

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.experiments.conftest import load_cli

NUMERIC_OPTIONS = {
    "responsiveness": ["--n-users", "--k", "--slate-size", "--horizon", "--seed",
                       "--cohort-size", "--batch-window", "--n-resamples"],
    "live_ab": ["--world-seed", "--n-users", "--days", "--max-session", "--slate-size",
                "--no-choice-utility", "--seed", "--n-resamples", "--threads"],
    "make_logs": ["--seed", "--log-seed", "--n-users", "--n-steps", "--similar", "--explore",
                  "--slate-size"],
    "real_responsiveness": ["--k", "--n-users", "--slate-size", "--seed", "--n-resamples"],
    "train": ["--dim", "--max-len", "--layers", "--epochs", "--patience", "--min-epochs",
              "--batch-size", "--lr", "--grad-clip", "--n-negatives", "--negative-weight",
              "--seed"],
    "ml1m": ["--epochs", "--max-minutes-per-model", "--patience", "--max-len", "--batch-size",
             "--negative-weight", "--users", "--seed", "--threads"],
    "fit_world": ["--holdout", "--n-factors", "--l2-bias", "--l2-factors", "--max-iter",
                  "--bootstrap", "--seed", "--n-users", "--world-seed", "--threads"],
}  # fmt: skip

VALUES = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-0", "1", "-1", "nan", "inf", "-inf", "1e400", "", "x", "2**63"]),
)


def _non_finite(value: str) -> bool:
    try:
        return not math.isfinite(float(value))
    except ValueError:
        return False


def _named(message: str, option: str) -> bool:
    """The message names the option, as --name-with-dashes or name_with_underscores."""
    bare = option.lstrip("-")
    return option in message or bare.replace("-", "_") in message


@pytest.mark.parametrize("command", sorted(NUMERIC_OPTIONS))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_numeric_options_exit_0_or_2_with_one_line(command, data, tmp_path_factory, capsys):
    cli = load_cli(command)
    option = data.draw(st.sampled_from(NUMERIC_OPTIONS[command]), label="option")
    value = data.draw(VALUES, label="value")
    blocker = tmp_path_factory.mktemp("out") / "file"
    blocker.write_text("")
    capsys.readouterr()
    code = cli.main([f"{option}={value}", "--out", str(blocker)])
    err = capsys.readouterr().err.strip()
    assert code in (0, 2), (option, value, code)
    if code == 2:
        assert err.count("\n") == 0 and err.startswith("error: "), err
        assert _named(err, option) or "exists and is not a folder" in err, err
        if "exists and is not a folder" in err:
            # Only a valid value may reach the output check: NaN and infinities are
            # refused where they are typed, naming their option.
            assert not _non_finite(value), (option, value, err)
            return
        # A rejected value is named in the message (repr of floats may differ in form).
        assert re.search(r"got|invalid|must", err), err


def test_the_out_check_is_what_a_valid_value_reaches(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert load_cli("responsiveness").main(["--k", "7", "--out", str(blocker)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    # An invalid value is reported before the output check, naming its option.
    assert load_cli("live_ab").main(["--threads", "-1", "--out", str(blocker)]) == 2
    assert "argument --threads: must be in [1, " in capsys.readouterr().err


@pytest.mark.parametrize("command", ["responsiveness", "live_ab", "real_responsiveness"])
@pytest.mark.parametrize(
    "value, message",
    [
        ("tpu", "argument --device: device 'tpu' is not a torch device (cpu, cuda, cuda:N)"),
        ("cuda:x", "argument --device: device 'cuda:x' is not a torch device"),
    ],
)
def test_a_device_torch_cannot_use_is_a_usage_error(command, value, message, capsys):
    """The measuring commands' --device is checked with the arguments, before any work."""
    assert load_cli(command).main(["--device", value, "--out", "unused"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {message}") and "\n" not in err, err
