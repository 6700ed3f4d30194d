"""A recommender that runs as a service, behind the adapter contract.

:class:`HttpAdapter` POSTs each batch of histories to a URL as the JSON of
docs/serving.md (:mod:`recommenders.serving`) and returns the slates the service
answers, after checking them: the response's shape and types here, item ranges and
duplicates by :func:`recommenders.validate_slates`, the simulator's own validation.
Every error is one line naming the URL, and the HTTP status or the row at fault.
Standard library only (``urllib.request``, ``json``, ``concurrent.futures``).
"""

from __future__ import annotations

import http.client
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from recommenders.adapter import CorpusLike, RecommenderAdapter
from recommenders.history import History, HistoryBatch
from recommenders.serving import encode_request
from recommenders.validation import AdapterFailure, InvalidSlateError, validate_slates


class ServiceError(AdapterFailure):
    """The service did not answer, answered with an error status, or answered something
    that is not the schema's JSON. An :class:`recommenders.AdapterError`, so a run stops
    with this one line."""


class HttpAdapter(RecommenderAdapter):
    """A recommender served over HTTP: one POST per ``recommend`` call (or per
    ``batch_size`` rows), slates checked before they are returned.

    Args:
        corpus: the catalogue; slates are checked against its ``n_items``.
        url: where to POST, e.g. ``http://127.0.0.1:8123/recommend``.
        timeout: seconds a connection attempt or one read of the response may wait
            (urllib's per-socket-operation timeout), > 0.
        retries: further attempts after a connection error, a timeout or a 5xx
            status (never after a 4xx: the request itself is wrong), >= 0.
        backoff: seconds before the first retry; each further retry waits twice as
            long as the one before (0.5, 1, 2, ... s), >= 0.
        max_concurrency: most POSTs in flight at once when a batch is split, >= 1.
        batch_size: most histories per POST; None sends each call's batch whole.

    Every history is sent whole on every call: the service holds no state, so the
    adapter stays a pure function of the histories (a request may be retried).
    """

    def __init__(
        self,
        corpus: CorpusLike,
        url: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_concurrency: int = 4,
        batch_size: int | None = None,
    ) -> None:
        if not _is_http_url(url):
            raise ValueError(f"HttpAdapter: url must be http(s)://HOST[:PORT]/PATH, got {url!r}")
        _check_number("timeout", timeout, minimum=0.0, strict=True)
        _check_number("backoff", backoff, minimum=0.0)
        _check_whole("retries", retries, minimum=0)
        _check_whole("max_concurrency", max_concurrency, minimum=1)
        if batch_size is not None:
            _check_whole("batch_size", batch_size, minimum=1)
        self.n_items = int(corpus.n_items)
        self.url = url
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_concurrency = int(max_concurrency)
        self.batch_size = batch_size
        # No redirects followed silently: a POST redirected elsewhere would audit another
        # service than the one named. urllib raises an HTTPError for 3xx without them.
        self._opener = urllib.request.build_opener(_NoRedirect)

    @property
    def name(self) -> str:
        return f"HttpAdapter({self.url})"

    def recommend(self, histories: Sequence[History], slate_size: int) -> np.ndarray:
        batch = HistoryBatch.of(histories)
        n, k = len(batch), int(slate_size)
        if n == 0:
            return np.empty((0, k), np.int64)
        size = n if self.batch_size is None else self.batch_size
        starts = list(range(0, n, size))
        if len(starts) == 1:
            parts = [self._post_rows(batch, 0, n, k)]
        else:
            # Threads, not processes: each POST waits on the network, and the pool's map
            # keeps the parts in row order whatever order they finish in.
            with ThreadPoolExecutor(min(self.max_concurrency, len(starts))) as pool:
                parts = list(
                    pool.map(lambda s: self._post_rows(batch, s, min(s + size, n), k), starts)
                )
        slates = parts[0] if len(parts) == 1 else np.concatenate(parts)
        # Ids in range and distinct: the contract's own check, naming this adapter and URL.
        return validate_slates(slates, n, k, self.n_items, self.name)

    def _post_rows(self, batch: HistoryBatch, start: int, stop: int, k: int) -> np.ndarray:
        """Slates of rows ``[start, stop)`` from one POST (with its retries)."""
        rows = batch if (start, stop) == (0, len(batch)) else batch.take(np.arange(start, stop))
        status, body = self._post(encode_request(rows, k), start, stop)
        return self._parse(body, status, start, stop, k)

    def _post(self, body: bytes, start: int, stop: int) -> tuple[int, bytes]:
        """The status and body of a 2xx answer to ``body``, retrying what may pass."""
        where = f"{self.url}: rows {start}-{stop - 1}"
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        attempts = self.retries + 1
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                detail = _error_detail(error)
                failure = f"{where}: HTTP {error.code} {error.reason}{detail}"
                if error.code < 500:
                    raise ServiceError(failure) from None
            except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as e:
                reason = getattr(e, "reason", e)
                if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                    failure = f"{where}: no response within {self.timeout:g} s"
                else:
                    failure = f"{where}: cannot reach the service ({_one_line(reason)})"
        raise ServiceError(f"{failure} ({attempts} attempt{'s' if attempts > 1 else ''})")

    def _parse(self, body: bytes, status: int, start: int, stop: int, k: int) -> np.ndarray:
        """The (stop - start, k) int64 slates of a response body; a one-line
        :class:`InvalidSlateError` naming the URL and the first row at fault."""
        try:
            answer = json.loads(body)
        except ValueError as error:  # UnicodeDecodeError included
            raise ServiceError(
                f"{self.url}: response (HTTP {status}) to rows {start}-{stop - 1} is not "
                f"JSON ({_one_line(error)})"
            ) from None
        slates = answer.get("slates") if isinstance(answer, dict) else None
        if not isinstance(slates, list):
            raise InvalidSlateError(
                f"{self.url}: response (HTTP {status}) to rows {start}-{stop - 1} has no "
                "'slates' list"
            )
        n = stop - start
        if len(slates) != n:
            raise InvalidSlateError(
                f"{self.url}: {len(slates)} slates for rows {start}-{stop - 1}, expected {n}"
            )
        for offset, slate in enumerate(slates):
            row = start + offset
            if not isinstance(slate, list):
                raise InvalidSlateError(
                    f"{self.url}: slate of row {row} is {type(slate).__name__}, expected a list"
                )
            if len(slate) != k:
                raise InvalidSlateError(
                    f"{self.url}: slate of row {row} has {len(slate)} items, expected {k}"
                )
            # bool is an int subclass in Python; JSON true is not an item id.
            bad = next((item for item in slate if type(item) is not int), None)
            if bad is not None:
                raise InvalidSlateError(
                    f"{self.url}: slate of row {row} holds {bad!r}, expected integer item ids"
                )
        try:
            return np.array(slates, np.int64).reshape(n, k)
        except OverflowError:
            row = start + next(
                i for i, s in enumerate(slates) if any(abs(item) >= 2**63 for item in s)
            )
            raise InvalidSlateError(
                f"{self.url}: slate of row {row} holds an item id beyond int64"
            ) from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _error_detail(error: urllib.error.HTTPError) -> str:
    """``: <the service's one-line error>`` from an error response's JSON body, if any."""
    try:
        message = json.loads(error.read()).get("error")
    except Exception:  # any body at all: the status alone still names the failure
        return ""
    return f": {_one_line(message)}" if isinstance(message, str) and message else ""


def _is_http_url(url: object) -> bool:
    if not isinstance(url, str):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (reading it checks it: ValueError for a bad port)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _one_line(error: object) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _check_number(name: str, value: object, minimum: float, strict: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < minimum or (strict and value == minimum):
        bound = ">" if strict else ">="
        raise ValueError(
            f"HttpAdapter: {name} must be a finite number {bound} {minimum:g} "
            f"(seconds), got {value!r}"
        )


def _check_whole(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"HttpAdapter: {name} must be an integer >= {minimum}, got {value!r}")
