"""The packaging a user installs: commands, license and citation metadata.

The installed commands are ``[project.scripts]`` of pyproject.toml, read from the
file (an editable install's metadata can be older than the checkout); each must
resolve to a command line's ``main(argv=None)`` and answer ``--help`` under its own
name, as the console script pip writes would call it.
"""

import hashlib
import inspect
import json
import re
import subprocess
import sys
import sysconfig
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
"""SHA-256 of the Apache License 2.0 text as the ASF publishes it (LICENSE-2.0.txt)."""


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def scripts() -> dict[str, str]:
    return pyproject()["project"]["scripts"]


def test_every_command_is_a_command_lines_main():
    found = scripts()
    assert found, "pyproject.toml has no [project.scripts]"
    for name, value in found.items():
        assert name.startswith("resp-"), f"{name}: the commands share the resp- prefix"
        module, _, attribute = value.partition(":")
        assert module.startswith("experiments.") and attribute == "main", (name, value)
        assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file(), (name, value)
        main = EntryPoint(name, value, "console_scripts").load()
        assert callable(main), name
        argv = inspect.signature(main).parameters.get("argv")
        assert argv is not None and argv.default is None, f"{name}: main(argv=None)"
    assert len(set(found.values())) == len(found), "two commands run the same main"


HELP_ALL = """
import contextlib, io, json, sys
from importlib.metadata import EntryPoint

results = {}
for name, value in json.loads(sys.argv[1]).items():
    main = EntryPoint(name, value, "console_scripts").load()
    sys.argv = [name, "--help"]  # what a console script sees
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main()
        except SystemExit as done:
            code = done.code
    results[name] = [code, out.getvalue()]
print(json.dumps(results))
"""


def test_every_command_answers_help_under_its_own_name():
    """One interpreter loads each entry point as pip's console script does and calls
    ``main()`` with ``sys.argv = [NAME, "--help"]``."""
    found = scripts()
    done = subprocess.run(
        [sys.executable, "-c", HELP_ALL, json.dumps(found)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for name in found:
        code, text = results[name]
        assert code in (0, None), f"{name} --help exited {code}"
        assert text.startswith(f"usage: {name} "), f"{name}: {text[:80]!r}"
        assert "--help" in text


def installed_commands() -> dict[str, Path]:
    """The commands of pyproject.toml that pip installed for this interpreter (its
    scripts folder), as they are now: a script naming another module is left out."""
    folder = Path(sysconfig.get_path("scripts"))
    found = {}
    for name, value in scripts().items():
        path = folder / name
        if path.is_file() and f"from {value.partition(':')[0]} import" in path.read_text():
            found[name] = path
    return found


@pytest.mark.slow
def test_installed_console_scripts_answer_help():
    """The console scripts pip wrote (when this checkout is installed with them), each
    in its own process, all at once."""
    installed = installed_commands()
    if not installed:
        pytest.skip("the commands are not installed (pip install -e . installs them)")
    running = {
        name: subprocess.Popen(
            [path, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, path in installed.items()
    }
    for name, process in running.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name} --help: {err[-1000:]}"
        assert out.startswith(f"usage: {name} "), f"{name}: {out[:80]!r}"


def test_license_is_the_apache_2_text_pyproject_names():
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256, "LICENSE is not Apache-2.0"
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]


def citation() -> dict:
    """CITATION.cff, with PyYAML when it is installed; else its top-level scalars."""
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:
        return {
            m.group(1): m.group(2).strip().strip("'\"")
            for m in re.finditer(r"^([a-z-]+):[ \t]*(\S.*)?$", text, re.M)
            if m.group(2)
        }
    return yaml.safe_load(text)


def test_citation_is_cff_1_2_0_of_this_version():
    cff = citation()
    project = pyproject()["project"]
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "license"):
        assert cff.get(key), f"CITATION.cff has no {key}"
    assert str(cff["version"]) == project["version"], "CITATION.cff's version != pyproject's"
    assert cff["license"] == project["license"]
    if "authors" not in cff:  # the minimal reading without PyYAML stops here
        return
    assert cff["authors"] and all("name" in a or "family-names" in a for a in cff["authors"])
    titles = [reference["title"] for reference in cff["references"]]
    assert any(t.startswith("Learning from Negative User Feedback") for t in titles)
    for reference in cff["references"]:
        assert reference["type"] and reference["authors"], reference["title"]
        for person in reference["authors"]:
            assert person.get("family-names") and person.get("given-names"), person


RUN_AS_COMMAND = """
import sys
from importlib.metadata import EntryPoint

name, value, *argv = sys.argv[1:]
sys.argv = [name, *argv]
sys.exit(EntryPoint(name, value, "console_scripts").load()())
"""


@pytest.mark.parametrize("name", ["resp-measure", "resp-live-ab"])
def test_a_command_killed_with_sigterm_unwinds_like_ctrl_c(name, tmp_path):
    """A console script calls ``main()`` without the file's ``__main__`` block, so
    ``main`` itself turns SIGTERM into ``SystemExit(143)`` (temporary files removed,
    workers stopped) instead of dying at once."""
    import signal

    argv = ["--n-users", "2000", "--n-resamples", "200", "--out", str(tmp_path / "out")]
    if name == "resp-measure":
        argv += ["--adapter", "popularity"]  # not the default itemknn, fitted first
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_AS_COMMAND, name, scripts()[name], *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        seen = b""
        while b"%|" not in seen:  # the progress bar: main runs, past its first line
            byte = process.stderr.read(1)
            assert byte, f"the run stopped before its progress bar: {seen[-500:]!r}"
            seen += byte
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM
