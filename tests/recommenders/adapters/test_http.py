"""HttpAdapter against real local servers (127.0.0.1, port 0, stopped by each test), and
the server side of the schema (recommenders.serving)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import (
    AdapterError,
    Feedback,
    History,
    HistoryBatch,
    HttpAdapter,
    InvalidSlateError,
    PopularityAdapter,
    RandomAdapter,
    RecommenderAdapter,
)
from recommenders.adapters.http import ServiceError
from recommenders.serving import (
    FEEDBACK_CODES,
    RequestError,
    decode_request,
    encode_request,
    respond,
    serve_in_thread,
)
from tests.recommenders.conftest import histories_strategy, padded

Reply = Callable[[int, bytes], tuple[int, bytes]]
"""A scripted server's answer to its n-th request (0-based) with that body: status, body."""


class ScriptedServer(ThreadingHTTPServer):
    """A server answering every POST with ``reply``, counting requests, after ``delay`` s."""

    daemon_threads = True

    def __init__(self, reply: Reply, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self.reply, self.delay = reply, delay
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/recommend"


class _ScriptedHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            index = self.server.requests
            self.server.requests += 1
        time.sleep(self.server.delay)
        status, answer = self.server.reply(index, body)
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def scripted():
    """Start scripted servers in threads; every one is stopped when the test ends."""
    started = []

    def start(reply: Reply, delay: float = 0.0) -> ScriptedServer:
        server = ScriptedServer(reply, delay)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join()


def slates_reply(slates) -> Reply:
    body = json.dumps({"slates": slates}).encode()
    return lambda index, request: (200, body)


def test_slates_equal_the_in_process_adapter(corpus, make_batch):
    batch = make_batch(np.random.default_rng(0), 30, corpus.n_items, 15)
    for adapter in (PopularityAdapter(corpus), RandomAdapter(corpus, seed=4)):
        expected = adapter.recommend(batch, 7)
        with serve_in_thread(adapter, corpus.n_items) as server:
            assert server.url.startswith("http://127.0.0.1:")
            client = HttpAdapter(corpus, server.url)
            np.testing.assert_array_equal(client.recommend(batch, 7), expected)
            # Split into POSTs of 4 rows, 3 at a time: the same slates, in row order.
            split = HttpAdapter(corpus, server.url, batch_size=4, max_concurrency=3)
            np.testing.assert_array_equal(split.recommend(batch, 7), expected)
            # A wider padding sends the same events: only the real ones travel.
            np.testing.assert_array_equal(client.recommend(padded(list(batch), 5), 7), expected)


class Recording(RecommenderAdapter):
    """Popularity slates; keeps a copy of every batch it was asked for."""

    def __init__(self, corpus) -> None:
        self.inner = PopularityAdapter(corpus)
        self.seen: list[HistoryBatch] = []

    def recommend(self, histories, slate_size):
        batch = HistoryBatch.of(histories)
        self.seen.append(batch)
        return self.inner.recommend(batch, slate_size)


def test_the_service_sees_exactly_the_histories(corpus, make_batch):
    batch = make_batch(np.random.default_rng(3), 12, corpus.n_items, 9)
    recording = Recording(corpus)
    with serve_in_thread(recording, corpus.n_items) as server:
        HttpAdapter(corpus, server.url).recommend(batch, 5)
    (seen,) = recording.seen
    np.testing.assert_array_equal(seen.lengths, batch.lengths)
    for sent, received in zip(batch, seen, strict=True):
        np.testing.assert_array_equal(received.items, sent.items)
        np.testing.assert_array_equal(received.feedback, sent.feedback)
        np.testing.assert_array_equal(received.dwell, sent.dwell)  # bit for bit


@settings(max_examples=60, deadline=None)
@given(histories=histories_strategy(60), slate_size=st.integers(1, 20), data=st.data())
def test_requests_round_trip(histories, slate_size, data):
    dwell = [
        data.draw(st.lists(st.floats(0, 1), min_size=len(h), max_size=len(h))) for h in histories
    ]
    rows = [History(h.items, h.feedback, d) for h, d in zip(histories, dwell, strict=True)]
    batch, size = decode_request(encode_request(HistoryBatch.of(rows), slate_size), 60)
    assert size == slate_size and len(batch) == len(rows)
    for sent, received in zip(rows, batch, strict=True):
        assert received.items.tolist() == sent.items.tolist()
        assert received.feedback.tolist() == sent.feedback.tolist()
        assert received.dwell.tolist() == sent.dwell.tolist()


def test_the_documented_feedback_codes_are_the_enum():
    assert FEEDBACK_CODES == {"POSITIVE": 0, "SKIP": 1, "DISLIKE": 2, "LIKE": 3, "DISMISS": 4}
    assert FEEDBACK_CODES == {code.name: int(code) for code in Feedback}


def test_retries_a_503_then_succeeds(corpus, make_history, scripted):
    good = json.dumps({"slates": [[1, 2, 3]]}).encode()
    server = scripted(lambda i, body: (503, b'{"error": "warming up"}') if i < 2 else (200, good))
    start = time.perf_counter()
    client = HttpAdapter(corpus, server.url, retries=2, backoff=0.05)
    assert client.recommend([make_history([4])], 3).tolist() == [[1, 2, 3]]
    assert server.requests == 3
    assert time.perf_counter() - start >= 0.05 + 0.1  # exponential: 0.05 s, then 0.1 s
    # One retry fewer: the last answer is the 503, with the service's own line.
    server.requests = 0
    with pytest.raises(ServiceError) as error:
        HttpAdapter(corpus, server.url, retries=1, backoff=0.0).recommend([make_history([4])], 3)
    assert str(error.value) == (
        f"{server.url}: rows 0-0: HTTP 503 Service Unavailable: warming up (2 attempts)"
    )
    assert server.requests == 2


@pytest.mark.parametrize("status", [400, 404, 422])
def test_a_4xx_is_not_retried(corpus, make_history, scripted, status):
    server = scripted(lambda i, body: (status, b'{"error": "no such model"}'))
    client = HttpAdapter(corpus, server.url, retries=3, backoff=0.0)
    with pytest.raises(ServiceError, match=rf"^{server.url}: rows 0-1: HTTP {status} ") as error:
        client.recommend([make_history([4]), make_history([])], 3)
    assert str(error.value).endswith(": no such model") and "\n" not in str(error.value)
    assert server.requests == 1


def test_a_slow_server_is_a_timeout_naming_the_url(corpus, make_history, scripted):
    server = scripted(slates_reply([[1, 2, 3]]), delay=2.0)
    client = HttpAdapter(corpus, server.url, timeout=0.2, retries=1, backoff=0.0)
    start = time.perf_counter()
    with pytest.raises(ServiceError) as error:
        client.recommend([make_history([4])], 3)
    assert time.perf_counter() - start < 1.5  # two attempts of 0.2 s, not the 2 s answer
    assert str(error.value) == f"{server.url}: rows 0-0: no response within 0.2 s (2 attempts)"
    assert server.requests == 2  # a timeout is retried


def test_no_service_is_a_connection_error_after_the_retries(corpus, make_history, scripted):
    server = scripted(slates_reply([[1, 2, 3]]))
    url = server.url
    server.shutdown()
    server.server_close()
    with pytest.raises(
        ServiceError,
        match=rf"^{url}: rows 0-0: cannot reach the service .*"
        r"\(3 attempts\)$",
    ):
        HttpAdapter(corpus, url, retries=2, backoff=0.0).recommend([make_history([4])], 3)


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ([[1, 2, 3], [4, 5]], InvalidSlateError, "{url}: slate of row 1 has 2 items, expected 3"),
        ([[1, 2, 3]], InvalidSlateError, "{url}: 1 slates for rows 0-1, expected 2"),
        ([[1, 2, 3], 7], InvalidSlateError, "{url}: slate of row 1 is int, expected a list"),
        ([[1, 2, 3], [4, 5.5, 6]], InvalidSlateError, "{url}: slate of row 1 holds 5.5, expected"),
        ([[1, 2, 3], [4, True, 6]], InvalidSlateError, "{url}: slate of row 1 holds True"),
        (
            [[1, 2, 3], [4, 2**64, 6]],
            InvalidSlateError,
            "{url}: slate of row 1 holds an item id beyond int64",
        ),
        # Range and duplicates: recommenders.validate_slates, naming this adapter and URL.
        (
            [[1, 2, 3], [4, 60, 6]],
            InvalidSlateError,
            "HttpAdapter({url}).recommend returned item id 60 in row 1, outside [0, 60)",
        ),
        ([[1, 2, 3], [4, -1, 6]], InvalidSlateError, "returned item id -1 in row 1, outside"),
        (
            [[1, 2, 3], [4, 6, 4]],
            InvalidSlateError,
            "HttpAdapter({url}).recommend returned item id 4 twice in row 1",
        ),
        ({"no": "slates"}, InvalidSlateError, "{url}: response (HTTP 200) to rows 0-1 has no"),
        (
            b"<html>oops</html>",
            ServiceError,
            "{url}: response (HTTP 200) to rows 0-1 is not JSON (Expecting value",
        ),
    ],
)
def test_bad_slates_are_one_line_naming_the_url_and_row(
    corpus, make_history, scripted, answer, error, message
):
    body = (
        answer
        if isinstance(answer, bytes)
        else json.dumps(answer if isinstance(answer, dict) else {"slates": answer}).encode()
    )
    server = scripted(lambda i, request: (200, body))
    client = HttpAdapter(corpus, server.url, retries=3)
    with pytest.raises(error) as raised:
        client.recommend([make_history([9]), make_history([8, 7])], 3)
    assert isinstance(raised.value, AdapterError)  # the simulator's contract errors
    text = str(raised.value)
    assert message.format(url=server.url) in text and "\n" not in text
    assert server.requests == 1  # a bad answer is not retried: it would come back the same


def test_rows_of_a_split_batch_are_named_in_the_whole_batch(corpus, make_history, scripted):
    def reply(index, body):
        n = len(json.loads(body)["histories"])
        slates = [[1, 2, 3]] * n
        if index == 1:  # the second POST's second row: row 3 of the whole batch
            slates[1] = [1, 2]
        return 200, json.dumps({"slates": slates}).encode()

    server = scripted(reply)
    client = HttpAdapter(corpus, server.url, batch_size=2, max_concurrency=1)
    with pytest.raises(InvalidSlateError, match=r"slate of row 3 has 2 items, expected 3$"):
        client.recommend([make_history([i]) for i in range(10, 16)], 3)


class Sleeping(RecommenderAdapter):
    """Popularity slates after ``seconds``; counts how many calls run at once."""

    def __init__(self, corpus, seconds: float) -> None:
        self.inner, self.seconds = PopularityAdapter(corpus), seconds
        self.lock = threading.Lock()
        self.running = self.peak = self.calls = 0

    def recommend(self, histories, slate_size):
        with self.lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        return self.inner.recommend(histories, slate_size)


@pytest.mark.parametrize("limit", [1, 3])
def test_the_concurrency_limit_is_respected(corpus, make_batch, limit):
    batch = make_batch(np.random.default_rng(5), 40, corpus.n_items, 10)
    sleeping = Sleeping(corpus, 0.15)
    with serve_in_thread(sleeping, corpus.n_items, thread_safe=True) as server:
        client = HttpAdapter(corpus, server.url, batch_size=5, max_concurrency=limit)
        slates = client.recommend(batch, 6)
    np.testing.assert_array_equal(slates, PopularityAdapter(corpus).recommend(batch, 6))
    assert sleeping.calls == 8
    assert sleeping.peak == limit


def test_a_server_serializes_adapters_that_are_not_thread_safe(corpus, make_batch):
    batch = make_batch(np.random.default_rng(5), 20, corpus.n_items, 10)
    sleeping = Sleeping(corpus, 0.05)
    with serve_in_thread(sleeping, corpus.n_items) as server:
        HttpAdapter(corpus, server.url, batch_size=5, max_concurrency=4).recommend(batch, 6)
    assert sleeping.calls == 4 and sleeping.peak == 1


def test_an_empty_batch_sends_nothing(corpus, scripted):
    server = scripted(slates_reply([]))
    assert HttpAdapter(corpus, server.url).recommend([], 4).shape == (0, 4)
    assert server.requests == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://x/recommend"}, "url must be http(s)://HOST[:PORT]/PATH, got 'ftp://x"),
        ({"url": "http://"}, "url must be http(s)://HOST[:PORT]/PATH, got 'http://'"),
        ({"url": "http://h:99999/r"}, "url must be http(s)://HOST[:PORT]/PATH"),
        ({"timeout": 0}, "timeout must be a finite number > 0 (seconds), got 0"),
        ({"timeout": float("nan")}, "timeout must be a finite number > 0"),
        ({"backoff": -1}, "backoff must be a finite number >= 0 (seconds), got -1"),
        ({"retries": -1}, "retries must be an integer >= 0, got -1"),
        ({"retries": 1.5}, "retries must be an integer >= 0, got 1.5"),
        ({"max_concurrency": 0}, "max_concurrency must be an integer >= 1, got 0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"batch_size": True}, "batch_size must be an integer >= 1, got True"),
    ],
)
def test_bad_options_are_refused(corpus, kwargs, message):
    kwargs = {"url": "http://127.0.0.1:1/recommend", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        HttpAdapter(corpus, **kwargs)


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def request(histories, slate_size=3, version=1) -> bytes:
    return json.dumps(
        {"version": version, "slate_size": slate_size, "histories": histories}
    ).encode()


GOOD = {"items": [1, 2], "feedback": [0, 2], "dwell": [1.0, 0.5]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "request is not JSON (Expecting value: line 1 column 1 (char 0))"),
        (b"[1, 2]", "request must be a JSON object, got list"),
        (request([GOOD], version=2), "request version must be 1, got 2"),
        (request([GOOD], slate_size=0), "slate_size must be an integer >= 1, got 0"),
        (request([GOOD], slate_size=2.5), "slate_size must be an integer >= 1, got 2.5"),
        (json.dumps({"version": 1, "slate_size": 3}).encode(), "histories must be a list, got"),
        (request([GOOD, 3]), "histories[1] must be an object, got int"),
        (request([{**GOOD, "items": [1, "a"]}]), "histories[0].items must hold integers, got 'a'"),
        (request([{**GOOD, "feedback": [0, True]}]), "histories[0].feedback must hold integers"),
        (
            request([{**GOOD, "items": [[1], [2]]}]),
            "histories[0].items must hold integers, got [1]",
        ),
        (request([{**GOOD, "items": [1.0, 2]}]), "histories[0].items must hold integers, got 1.0"),
        (request([{**GOOD, "items": [1, 2**63]}]), "histories[0]: Python int too large"),
        (request([{**GOOD, "dwell": [True, 1]}]), "histories[0].dwell must hold numbers, got True"),
        (request([{**GOOD, "dwell": [1.0, None]}]), "histories[0].dwell must hold numbers"),
        (request([{**GOOD, "dwell": [1.0]}]), "histories[0]: History arrays must have equal"),
        (request([{**GOOD, "feedback": [0, 9]}]), "histories[0]: History.feedback[1] = 9 is not"),
        (request([{**GOOD, "dwell": [1.0, 1.5]}]), "histories[0]: History.dwell[1] = 1.5 is not"),
        (request([{**GOOD, "items": [1, 60]}]), "histories[0].items[1] = 60 is outside [0, 60)"),
        (request([{"items": [1], "feedback": [0]}]), "histories[0].dwell must be a list, got"),
        (b'{"version": 1, "slate_size": NaN}', "request is not JSON (NaN is not JSON)"),
    ],
)
def test_a_malformed_request_is_a_400_with_one_line(corpus, body, message):
    with serve_in_thread(PopularityAdapter(corpus), corpus.n_items) as server:
        status, answer = post(server.url, body)
    assert status == 400
    assert answer["error"].startswith(message) and "\n" not in answer["error"]
    with pytest.raises(RequestError):
        decode_request(body, corpus.n_items)


def test_the_server_answers_its_path_only(corpus):
    with serve_in_thread(PopularityAdapter(corpus), corpus.n_items) as server:
        status, answer = post(server.url.replace("/recommend", "/other"), request([GOOD]))
        assert status == 404 and "/recommend" in answer["error"]
        expected = PopularityAdapter(corpus).recommend([History(**GOOD)], 2).tolist()
        assert post(server.url, request([GOOD], slate_size=2)) == (200, {"slates": expected})


class Broken(RecommenderAdapter):
    def __init__(self, slates=None) -> None:
        self.slates = slates

    def recommend(self, histories, slate_size):
        if self.slates is None:
            raise RuntimeError("model not loaded\nsecond line")
        return self.slates


def test_a_failing_served_adapter_is_a_500_naming_it(corpus):
    status, body = respond(Broken(), request([GOOD]), corpus.n_items)
    assert status == 500
    assert json.loads(body) == {"error": "Broken: RuntimeError: model not loaded"}
    # Slates that break the contract are the server's fault too: validated before sending.
    status, body = respond(Broken(np.array([[1, 1, 2]])), request([GOOD]), corpus.n_items)
    assert status == 500 and "returned item id 1 twice in row 0" in json.loads(body)["error"]


def test_a_500_from_the_example_adapter_reaches_the_client_in_one_line(corpus, make_history):
    with serve_in_thread(Broken(), corpus.n_items) as server:
        client = HttpAdapter(corpus, server.url, retries=1, backoff=0.0)
        with pytest.raises(ServiceError) as error:
            client.recommend([make_history([1])], 3)
    assert str(error.value) == (
        f"{server.url}: rows 0-0: HTTP 500 Internal Server Error: Broken: RuntimeError: "
        "model not loaded (2 attempts)"
    )


def test_serve_returns_a_started_server_that_stops(corpus, make_batch):
    from recommenders.serving import RecommenderServer, serve

    batch = make_batch(np.random.default_rng(8), 12, corpus.n_items, 6)
    adapter = PopularityAdapter(corpus)
    server = serve(adapter)  # n_items from the adapter, a free port on 127.0.0.1
    try:
        assert isinstance(server, ThreadingHTTPServer) and isinstance(server, RecommenderServer)
        assert server.url == f"http://127.0.0.1:{server.server_address[1]}/recommend"
        assert server.thread.is_alive() and server.n_items == corpus.n_items
        slates = HttpAdapter(corpus, server.url).recommend(batch, 5)
        np.testing.assert_array_equal(slates, adapter.recommend(batch, 5))
    finally:
        thread = server.thread
        server.stop()
    assert not thread.is_alive() and server.thread is None
    with pytest.raises(ServiceError, match="cannot reach the service"):
        HttpAdapter(corpus, server.url, retries=0).recommend(batch, 5)
    with pytest.raises(ValueError, match="has no n_items; pass n_items"):
        serve(Broken())
