"""The layers import in one direction: experiments -> simulator -> (agents, recommenders).

``recommenders`` (what a model author needs) imports no other package of the
project; ``agents`` (the synthetic users) imports only the contract's vocabulary
from it; nothing in the library imports the studies in ``experiments``. Every
import statement counts, including those inside functions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "recommenders", "simulator", "experiments")

FORBIDDEN = {
    "recommenders": {"agents", "simulator", "experiments"},
    "agents": {"simulator", "experiments"},
    "simulator": {"experiments"},
}
AGENTS_MAY_USE = {"recommenders.history", "recommenders.hashing"}
"""The contract's vocabulary: feedback codes and keyed hashing (one implementation each)."""


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, a file under ``root``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def library_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_against_the_direction(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in library_files(package)
        for line, module in imports_of(path)
        if module.split(".")[0] in FORBIDDEN[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_agents_use_only_the_contract_vocabulary():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in library_files("agents")
        for line, module in imports_of(path)
        if module.split(".")[0] == "recommenders" and module not in AGENTS_MAY_USE
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_violations(tmp_path):
    # The rule must be able to fail: planted imports are found, in functions and relative.
    bad = tmp_path / "recommenders" / "adapters" / "planted.py"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "from simulator import World\n\ndef f():\n    import agents.policies\n"
        "    from ..models import build_model\n"
    )
    found = {module for _, module in imports_of(bad, root=tmp_path)}
    assert found == {"simulator", "agents.policies", "recommenders.models"}


@pytest.mark.parametrize("module", ["agents", "recommenders", "simulator"])
def test_importing_the_library_loads_no_torch_or_studies(module):
    code = (
        f"import sys, {module}; "
        "bad = [m for m in ('torch', 'experiments') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"import {module} also loaded {out.stdout.strip()}"
