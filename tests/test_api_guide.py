"""docs/api.md runs: every ```python block, in order, in one shared namespace."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "api.md"

BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number of the opening fence, code) of every ```python block, in order."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_the_guide_has_its_six_sections():
    assert len(python_blocks(GUIDE.read_text())) == 6


def test_python_blocks_are_found_in_order():
    text = "a\n```python\nx = 1\n```\ntext\n```bash\nls\n```\n```python\ny = x\n```\n"
    assert python_blocks(text) == [(2, "x = 1\n"), (9, "y = x\n")]


def test_every_block_of_the_guide_runs(tmp_path, monkeypatch):
    """A renamed or removed API fails here, naming the block, its line and the exception."""
    monkeypatch.chdir(tmp_path)  # whatever a block writes by a relative path lands here
    namespace: dict = {"__name__": "api_guide"}
    for number, (line, code) in enumerate(python_blocks(GUIDE.read_text()), start=1):
        try:
            exec(compile(code, f"docs/api.md, block {number} (line {line})", "exec"), namespace)
        except Exception as error:
            detail = "".join(traceback.format_exception(error)[-3:])
            failure = f"docs/api.md block {number} (line {line}) raised {type(error).__name__}: "
            failure += f"{error}\n{detail}"
            break
    else:
        return
    pytest.fail(failure, pytrace=False)
