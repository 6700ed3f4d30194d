"""A served recommender audited from the command line: experiments/serve_example.py as a
separate process, responsiveness.py pointed at it; servers on 127.0.0.1, stopped here."""

from __future__ import annotations

import gzip
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from recommenders import PopularityAdapter, RecommenderAdapter
from recommenders.serving import RecommenderServer
from simulator import World
from tests.experiments.conftest import load_cli
from tests.recommenders.adapters.test_http import ScriptedServer

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--n-users", "40", "--k", "5", "--n-resamples", "200", "--no-progress"]


def start_example_server(*args: str) -> tuple[subprocess.Popen, str]:
    """experiments/serve_example.py on a free port; the process and the URL it printed."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "experiments" / "serve_example.py"), "--port", "0", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=60):
            process.kill()
            raise AssertionError("the example server printed no URL within 60 s")
    return process, process.stdout.readline().strip()


@pytest.fixture
def example_server():
    """The example server serving popularity; stopped with SIGTERM, which must end it
    cleanly (exit code 0, nothing on stderr)."""
    process, url = start_example_server("--adapter", "popularity")
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert code == 0 and stderr == "", stderr


def test_the_example_server_prints_its_url(example_server):
    assert example_server.startswith("http://127.0.0.1:") and example_server.endswith("/recommend")
    assert int(example_server.split(":")[2].split("/")[0]) > 0  # port 0 picked a real one


def test_a_served_adapter_gives_the_in_process_results(
    responsiveness_cli, example_server, tmp_path
):
    """The same tables as --adapter popularity; the model column names the spec, so the
    URL is put back to ``popularity`` before the bytes are compared, unless the served
    model is named on the command line (NAME=URL)."""
    outputs = {}
    runs = (
        ("served", example_server),
        ("local", "popularity"),
        ("named", f"popularity={example_server}"),
    )
    for name, spec in runs:
        out = tmp_path / name
        args = ["--adapter", spec, *SMALL, "--horizon", "2", "--out", str(out)]
        assert responsiveness_cli.main(args) == 0
        outputs[name] = [
            (out / "responsiveness.csv").read_bytes(),
            gzip.decompress((out / "per_user.csv.gz").read_bytes()),
        ]
    url = example_server.encode()
    served = [data.replace(url, b"popularity") for data in outputs["served"]]
    assert url in outputs["served"][0]  # the served run did name the URL
    assert served == outputs["local"]
    assert outputs["named"] == outputs["local"]


class DiesAfter(RecommenderAdapter):
    """Popularity for ``calls`` calls; then its server stops for good and the call fails."""

    def __init__(self, corpus, calls: int) -> None:
        self.inner, self.left = PopularityAdapter(corpus), calls
        self.server: RecommenderServer | None = None

    def recommend(self, histories, slate_size):
        if self.left == 0:
            # From another thread: shutdown() waits for the serving loop, which waits for
            # this request. The listening socket is then closed: every retry is refused.
            server = self.server
            threading.Thread(target=lambda: (server.shutdown(), server.server_close())).start()
            raise ConnectionAbortedError("the machine went away")
        self.left -= 1
        return self.inner.recommend(histories, slate_size)


def test_a_server_that_dies_mid_run_stops_it_in_one_line_writing_nothing(
    responsiveness_cli, tmp_path, capsys
):
    world = World.default(0, 40)
    dying = DiesAfter(world.corpus, calls=3)
    server = dying.server = RecommenderServer(dying, world.corpus.n_items)
    url = server.url
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    out = tmp_path / "run"
    try:
        code = responsiveness_cli.main(
            [
                "--adapter",
                url,
                "--adapter-arg",
                url,
                "retries=2",
                "--adapter-arg",
                url,
                "backoff=0.2",
                *SMALL,
                "--out",
                str(out),
            ]
        )
    finally:
        thread.join(timeout=10)
        server.server_close()
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {url}: rows 0-"), err
    assert "(3 attempts)" in err
    assert not out.exists() or not any(out.iterdir())
    assert not thread.is_alive()


def test_bad_slates_from_a_server_stop_the_run_naming_it(responsiveness_cli, tmp_path, capsys):
    """Ids out of range reach the simulator's validation, which names the adapter's URL."""

    def reply(index, body):
        n = len(json.loads(body)["histories"])
        return 200, json.dumps(
            {"slates": [list(range(4990, 5000))] * (n - 1) + [[5000] * 10]}
        ).encode()

    server = ScriptedServer(reply)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        out = tmp_path / "run"
        code = responsiveness_cli.main(["--adapter", server.url, *SMALL, "--out", str(out)])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err == (
        f"error: HttpAdapter({server.url}).recommend returned item id 5000 in row 39, "
        "outside [0, 5000)\n"
    )
    assert server.requests == 1  # not retried: the same request gets the same answer


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "error: --port must be in [0, 65535], got 70000"),
        (
            ["--adapter-arg", "random", "seed=1"],
            "error: --adapter-arg for adapter 'random', which is not measured (measured: "
            "popularity)",
        ),
        (
            ["--adapter", "random", "--adapter-arg", "random", "sead=1"],
            "error: adapter 'random' takes no argument 'sead' (it takes: seed, exclude_consumed)",
        ),
        (
            ["--adapter", "popularity", "--checkpoint", "runs/x"],
            "error: serve either --adapter or --checkpoint, not both",
        ),
    ],
)
def test_example_server_errors_are_one_line(tmp_path, capsys, args, message):
    assert load_cli("serve_example").main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err


def test_a_taken_port_is_one_line(capsys):
    with RecommenderServer(PopularityAdapter(World.default(0, 2).corpus), 5000) as taken:
        port = str(taken.server_address[1])
        assert load_cli("serve_example").main(["--port", port, "--n-users", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port} (") and err.count("\n") == 1
