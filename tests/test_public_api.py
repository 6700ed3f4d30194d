"""The public names and every command-line option the README shows keep working."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.experiments.conftest import load_cli

ROOT = Path(__file__).resolve().parents[1]


def test_public_names():
    from recommenders import (  # noqa: F401
        Feedback,
        History,
        HistoryBatch,
        RatingRule,
        RecommenderAdapter,
        ScoringAdapter,
        load_adapter,
        load_interactions,
        load_ml1m,
    )
    from simulator import Corpus, World  # noqa: F401

    assert callable(load_adapter) and issubclass(ScoringAdapter, RecommenderAdapter)


def readme_commands() -> dict[str, set[str]]:
    """CLI file name -> every ``--option`` the README passes to it."""
    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    options: dict[str, set[str]] = {}
    for line in text.splitlines():
        for match in re.finditer(r"(?<![\w/])experiments/(\w+)\.py((?:\s+[^\s|&;`]+)*)", line):
            found = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", match.group(2)))
            options.setdefault(match.group(1), set()).update(found)
    return options


COMMANDS = readme_commands()


def test_the_readme_names_the_commands():
    assert {"responsiveness", "train", "make_logs", "ml1m"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_readme_option_is_accepted(name, capsys):
    with pytest.raises(SystemExit) as done:
        load_cli(name).main(["--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    missing = sorted(o for o in COMMANDS[name] if o not in shown)
    assert not missing, f"experiments/{name}.py --help lacks {missing}"


def layout_names() -> set[str]:
    """Every ``folder/`` and ``file.py`` named in the README's Layout code block."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    return set(re.findall(r"(?<![\w./])(\w+/|\w+\.py)(?![\w/])", block))


def test_the_readme_layout_names_what_exists():
    names = layout_names()
    assert {"recommenders/", "simulator/", "agents/", "experiments/", "losses/"} <= names
    present = {
        p.name + ("/" if p.is_dir() else "") for p in ROOT.rglob("*") if ".git" not in p.parts
    }
    assert not sorted(names - present), f"README Layout names what is not there: {names - present}"
