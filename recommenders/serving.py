"""A recommender as an HTTP service: the JSON schema of docs/serving.md, both sides.

One ``POST`` asks for one slate per history::

    request   {"version": 1, "slate_size": k,
               "histories": [{"items": [...], "feedback": [...], "dwell": [...]}, ...]}
    response  {"slates": [[item, ...], ...]}        one row per history, in order
    error     {"error": "one line"}                 with a 4xx or 5xx status

A history holds its real events only, oldest first (no padding); ``feedback`` is
the integer :class:`recommenders.Feedback` code of each event (:data:`FEEDBACK_CODES`)
and ``dwell`` the fraction of the item's length watched, in [0, 1].

:func:`encode_request` and :func:`decode_request` are the two ends of a request,
:func:`respond` answers one (decode, ``adapter.recommend``, validate, encode), and
:class:`RecommenderServer` puts an adapter behind it on the standard library's
``ThreadingHTTPServer``; :func:`serve` starts one in a background thread and returns
it (its ``url``, ``stop()``), :func:`serve_in_thread` for a ``with`` block (tests,
benchmarks). The client is :class:`recommenders.adapters.http.HttpAdapter`.
Standard library and numpy only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import chain

import numpy as np

from recommenders.adapter import RecommenderAdapter
from recommenders.history import PAD, Feedback, History, HistoryBatch
from recommenders.validation import validate_slates

SCHEMA_VERSION = 1
"""The ``version`` every request carries; a server refuses any other (400)."""

FEEDBACK_CODES = {code.name: int(code) for code in Feedback}
"""The feedback codes a request's ``feedback`` lists hold, by name (docs/serving.md)."""

MAX_REQUEST_BYTES = 256 * 2**20
"""Largest request body a server reads (bytes): a bound on what one client can make it
allocate. 2,000 histories of 200 events are about 10 MB."""

PATH = "/recommend"
"""The path a :class:`RecommenderServer` answers on; others get 404."""


class RequestError(ValueError):
    """A request that does not follow the schema; the message is one line (sent with 400)."""


def encode_request(batch: HistoryBatch, slate_size: int) -> bytes:
    """The JSON body asking for ``slate_size`` items per history of ``batch``: only each
    row's real events (``lengths``), never the padding."""
    histories = []
    for row, length in enumerate(batch.lengths.tolist()):
        histories.append(
            {
                "items": batch.items[row, :length].tolist(),
                "feedback": batch.feedback[row, :length].tolist(),
                # float repr round-trips: the server sees the dwell the simulator stored.
                "dwell": batch.dwell[row, :length].tolist(),
            }
        )
    body = {"version": SCHEMA_VERSION, "slate_size": int(slate_size), "histories": histories}
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def decode_request(body: bytes, n_items: int) -> tuple[HistoryBatch, int]:
    """The histories and slate size of a request body; a one-line :class:`RequestError`
    naming the first field that breaks the schema (item ids must be in ``[0, n_items)``,
    feedback codes and dwell as :class:`recommenders.History` checks them)."""
    try:
        request = json.loads(body, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise RequestError(f"request is not JSON ({_one_line(error)})") from None
    if not isinstance(request, dict):
        raise RequestError(f"request must be a JSON object, got {type(request).__name__}")
    if request.get("version") != SCHEMA_VERSION:
        raise RequestError(
            f"request version must be {SCHEMA_VERSION}, got {request.get('version')!r}"
        )
    slate_size = request.get("slate_size")
    if type(slate_size) is not int or slate_size < 1:
        raise RequestError(f"slate_size must be an integer >= 1, got {slate_size!r}")
    rows = request.get("histories")
    if not isinstance(rows, list):
        raise RequestError(f"histories must be a list, got {type(rows).__name__}")
    # JSON true/false are ints to numpy; a request that holds any goes the checked way.
    batch = None if b"true" in body or b"false" in body else _valid_batch(rows, n_items)
    if batch is None:
        # Row by row: slower, and the first field that breaks the schema is named.
        batch = HistoryBatch.of([_history(row, index, n_items) for index, row in enumerate(rows)])
    return batch, slate_size


_FIELDS = ("items", "feedback", "dwell")


def _valid_batch(rows: list, n_items: int) -> HistoryBatch | None:
    """The batch of ``rows`` in whole-array operations, when every row follows the schema;
    None otherwise (then :func:`_history` finds and names what is wrong). It accepts
    exactly what :func:`_history` accepts: a 2,000-history request decodes in a few
    milliseconds after ``json.loads`` instead of tens."""
    lengths = np.empty(len(rows), np.int64)
    for index, row in enumerate(rows):
        if type(row) is not dict:
            return None
        fields = [row.get(name) for name in _FIELDS]
        if any(type(values) is not list for values in fields):
            return None
        lengths[index] = len(fields[0])
        if len(fields[1]) != lengths[index] or len(fields[2]) != lengths[index]:
            return None
    flat = {}
    for name in _FIELDS:
        try:
            flat[name] = np.array(list(chain.from_iterable(row[name] for row in rows)))
        except (OverflowError, ValueError):  # ids beyond int64, ragged nesting
            return None
    if any(array.ndim != 1 for array in flat.values()):  # lists nested in a field
        return None
    items, feedback, dwell = flat["items"], flat["feedback"], flat["dwell"]
    if items.size:
        # Integer dtypes only: a float, a string, a null or a list in a field is refused.
        if items.dtype.kind != "i" or feedback.dtype.kind != "i" or dwell.dtype.kind not in "if":
            return None
        if items.min() < 0 or items.max() >= n_items:
            return None
        if feedback.min() < 0 or feedback.max() >= len(Feedback):
            return None
        if not ((dwell >= 0) & (dwell <= 1)).all():
            return None
    width = int(lengths.max()) if len(rows) else 0
    padded = {
        "items": np.full((len(rows), width), PAD, np.int64),
        "feedback": np.full((len(rows), width), PAD, np.int64),
        "dwell": np.full((len(rows), width), np.nan),
    }
    # Row-major order of the mask is the order the rows were chained in.
    mask = np.arange(width)[None, :] < lengths[:, None]
    for name, array in padded.items():
        array[mask] = flat[name]
    return HistoryBatch(padded["items"], padded["feedback"], padded["dwell"], lengths)


def _history(row: object, index: int, n_items: int) -> History:
    where = f"histories[{index}]"
    if not isinstance(row, dict):
        raise RequestError(f"{where} must be an object, got {type(row).__name__}")
    fields = {}
    for name in ("items", "feedback", "dwell"):
        values = row.get(name)
        if not isinstance(values, list):
            raise RequestError(f"{where}.{name} must be a list, got {type(values).__name__}")
        if name != "dwell" and any(type(v) is not int for v in values):
            bad = next(v for v in values if type(v) is not int)
            raise RequestError(f"{where}.{name} must hold integers, got {bad!r}")
        if name == "dwell" and any(type(v) not in (int, float) for v in values):
            bad = next(v for v in values if type(v) not in (int, float))
            raise RequestError(f"{where}.dwell must hold numbers, got {bad!r}")
        fields[name] = values
    try:
        history = History(
            np.array(fields["items"], np.int64),
            np.array(fields["feedback"], np.int64),
            np.array(fields["dwell"], np.float64),
        )
    except (OverflowError, ValueError) as error:  # lengths, codes, dwell range, int64
        raise RequestError(f"{where}: {_one_line(error)}") from None
    outside = (history.items < 0) | (history.items >= n_items)
    if outside.any():
        at = int(np.argmax(outside))
        raise RequestError(f"{where}.items[{at}] = {history.items[at]} is outside [0, {n_items})")
    return history


def encode_slates(slates: np.ndarray) -> bytes:
    """The response body of validated slates."""
    return json.dumps({"slates": slates.tolist()}, separators=(",", ":")).encode()


def encode_error(message: str) -> bytes:
    """An error body: ``{"error": message}``, the message on one line."""
    return json.dumps({"error": _one_line(message)}).encode()


def respond(
    adapter: RecommenderAdapter,
    body: bytes,
    n_items: int,
    lock: threading.Lock | None = None,
) -> tuple[int, bytes]:
    """The HTTP status and JSON body answering request ``body`` with ``adapter``.

    400 for a request that breaks the schema; 500 when the adapter raises or returns
    slates that break the contract (:func:`recommenders.validate_slates`); 200 with the
    slates otherwise. ``lock``, when given, is held around ``adapter.recommend``
    (adapters need not be thread-safe; a checkpoint's state cache is not).
    """
    try:
        batch, slate_size = decode_request(body, n_items)
    except RequestError as error:
        return HTTPStatus.BAD_REQUEST, encode_error(str(error))
    try:
        if lock is None:
            slates = adapter.recommend(batch, slate_size)
        else:
            with lock:
                slates = adapter.recommend(batch, slate_size)
        slates = validate_slates(slates, len(batch), slate_size, n_items, adapter.name)
    except Exception as error:  # the served adapter's failure is the client's 500, not ours
        return HTTPStatus.INTERNAL_SERVER_ERROR, encode_error(
            f"{adapter.name}: {type(error).__name__}: {_one_line(error)}"
        )
    return HTTPStatus.OK, encode_slates(slates)


class _Handler(BaseHTTPRequestHandler):
    server: RecommenderServer

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != PATH:
            self._send(HTTPStatus.NOT_FOUND, encode_error(f"no such path {self.path!r}: {PATH}"))
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(HTTPStatus.LENGTH_REQUIRED, encode_error("Content-Length is required"))
            return
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self._send(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                encode_error(f"request of {length} bytes; at most {MAX_REQUEST_BYTES}"),
            )
            return
        server = self.server
        try:
            status, body = respond(
                server.adapter, self.rfile.read(length), server.n_items, server.lock
            )
        except Exception as error:  # a bug here must still answer, not drop the connection
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            body = encode_error(f"server error: {type(error).__name__}: {_one_line(error)}")
        self._send(status, body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        # One stderr line per request would drown a run's own output; errors reach the
        # client in the response body.
        pass


class RecommenderServer(ThreadingHTTPServer):
    """``adapter`` answering the schema's requests on ``POST /recommend``, one thread per
    request.

    Args:
        adapter: the recommender served.
        n_items: the catalogue size requests' item ids and the slates are checked against.
        host, port: where to listen; port 0 picks a free port (read it from :attr:`url`).
            The default host is the loopback interface: the service has no authentication.
        thread_safe: whether ``adapter.recommend`` may run in several request threads at
            once; by default calls are serialized (decoding and encoding still overlap).
    """

    daemon_threads = True  # a request in flight never keeps the process alive

    def __init__(
        self,
        adapter: RecommenderAdapter,
        n_items: int,
        host: str = "127.0.0.1",
        port: int = 0,
        thread_safe: bool = False,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.adapter = adapter
        self.n_items = int(n_items)
        self.lock = None if thread_safe else threading.Lock()
        self.thread: threading.Thread | None = None  # the serving thread, once serve() starts one

    @property
    def url(self) -> str:
        """``http://HOST:PORT/recommend``, the port the socket is bound to."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{PATH}"

    def stop(self) -> None:
        """Stop serving (when :func:`serve` started it in a thread: wait for that thread),
        then close the socket."""
        if self.thread is not None:
            self.shutdown()
            self.thread.join()
            self.thread = None
        self.server_close()


def serve(
    adapter: RecommenderAdapter,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    n_items: int | None = None,
    thread_safe: bool = False,
) -> RecommenderServer:
    """``adapter`` served (:class:`RecommenderServer`) from a background daemon thread,
    already started: read the address from the returned server's :attr:`~RecommenderServer.url`
    and stop it with :meth:`~RecommenderServer.stop`. ``n_items`` defaults to the adapter's
    own ``n_items`` (every reference adapter has one); port 0 picks a free port."""
    if n_items is None:
        n_items = getattr(adapter, "n_items", None)
        if n_items is None:
            raise ValueError(
                f"serve: {adapter.name} has no n_items; pass n_items (the catalogue size)"
            )
    server = RecommenderServer(adapter, n_items, host, port, thread_safe)
    # A short poll interval: shutdown() waits for the serving loop's next poll.
    server.thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    server.thread.start()
    return server


@contextmanager
def serve_in_thread(
    adapter: RecommenderAdapter,
    n_items: int,
    host: str = "127.0.0.1",
    port: int = 0,
    thread_safe: bool = False,
) -> Iterator[RecommenderServer]:
    """:func:`serve` for the ``with`` block; stopped and its socket closed on exit."""
    server = serve(adapter, host, port, n_items=n_items, thread_safe=thread_safe)
    try:
        yield server
    finally:
        server.stop()


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _one_line(error: object) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
