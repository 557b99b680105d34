"""Prometheus metrics of the online service: right with N uvicorn workers, a few microseconds per request.

uvicorn runs N worker processes, so the service uses prometheus-client's multiprocess mode: the serve command
calls `prepare_multiprocess_dir(path)` before any worker starts (it empties the folder and sets
PROMETHEUS_MULTIPROC_DIR), each worker writes its values to memory-mapped files there, and `render_metrics()`
adds them up at scrape time. Without the variable the default registry is rendered (one process, tests).

Labels never carry personal data: routes are templates (`/v1/leads/{lead_id}`, never a raw path), and every
label keeps at most MAX_VALUES distinct values (later ones count as `other`), so a caller passing raw paths
or ids cannot grow the series without bound. prometheus-client is imported on first use, not at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from leadops.errors import ConfigError

ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds: fine enough to tell a 300 us request from a 900 us one, up to the request timeout."""
MAX_VALUES = 100
"""Distinct values a label may take; later ones are counted as `other` (bounded series, bounded memory)."""
OTHER = "other"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_MAX_LABEL = 120
_CACHE_LIMIT = 10_000


class _Metrics:
    """The service's metric objects and a cache of their label children (labels() costs more than observe())."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram, values

        if os.environ.get(ENV) and not getattr(values.ValueClass, "_multiprocess", False):
            # prometheus_client was imported before the serve command set the folder: choose the value class again
            values.ValueClass = values.get_value_class()
        self.multiprocess_dir: str | None = (
            os.environ.get(ENV) if getattr(values.ValueClass, "_multiprocess", False) else None
        )
        self.latency = Histogram(
            "leadops_http_request_duration_seconds",
            "Time to answer a request, by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
        )
        self.requests = Counter(
            "leadops_http_requests",
            "Requests answered, by route template, method and status",
            ["route", "method", "status"],
        )
        self.errors = Counter("leadops_errors", "Errors answered, by kind", ["kind"])
        self.scores = Counter("leadops_scores", "Leads scored, by grade and model version", ["grade", "model_version"])
        self.shadow = Counter("leadops_shadow_scores", "Leads scored in shadow, by challenger version", ["version"])
        self.shadow_dropped = Counter(
            "leadops_shadow_dropped", "Requests whose shadow scoring was dropped (the worker's queue was full)"
        )
        self.shadow_errors = Counter(
            "leadops_shadow_errors", "Shadow failures: a challenger version that raised, or `write`", ["version"]
        )
        self.model_version = Gauge(
            "leadops_model_version",
            "Workers serving each model version (1 per worker in its own process; summed over live workers)",
            ["version"],
            multiprocess_mode="livesum",
        )
        self.lock = threading.Lock()
        self.seen: dict[str, set[str]] = {}
        self.request_children: dict[tuple[str, str, int], tuple[Callable[[float], None], Callable[[], None]]] = {}
        self.children: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.version: str | None = None

    def label(self, name: str, value: object) -> str:
        """A bounded, personal-data-free label value: at most MAX_VALUES distinct per label, else `other`."""
        text = str(value).split("?", 1)[0][:_MAX_LABEL]
        if not text or "@" in text:  # an e-mail address (or a path holding one) never becomes a label
            return OTHER
        with self.lock:
            seen = self.seen.setdefault(name, set())
            if text in seen:
                return text
            if len(seen) >= MAX_VALUES:
                return OTHER
            seen.add(text)
            return text

    def request_child(self, route: str, method: str, status: int) -> tuple[Callable[[float], None], Callable[[], None]]:
        """The (latency observe, request count inc) pair of one (route, method, status), cached."""
        verb = str(method).upper()
        verb = verb if verb in _METHODS else "OTHER"
        code = str(status) if isinstance(status, int) and 100 <= status <= 599 else OTHER
        route_label = self.label("route", route)
        pair = (
            self.latency.labels(route_label, verb).observe,
            self.requests.labels(route_label, verb, code).inc,
        )
        _remember(self.request_children, (route, method, status), pair)
        return pair

    def child(self, metric: Any, name: str, values: tuple[str, ...]) -> Any:
        """One labelled child of a counter, cached by its raw label values."""
        key = (name, values)
        found = self.children.get(key)
        if found is None:
            found = metric.labels(*(self.label(f"{name}.{i}", v) for i, v in enumerate(values)))
            _remember(self.children, key, found)
        return found


_STATE: dict[str, _Metrics] = {}
_CREATE = threading.Lock()


def _metrics() -> _Metrics:
    """The process's metrics, created on first use (after the serve command has set the multiprocess folder)."""
    found = _STATE.get("m")
    if found is None:
        with _CREATE:
            found = _STATE.get("m")
            if found is None:
                found = _STATE["m"] = _Metrics()
    return found


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:  # raw values that all fold into `other` must not grow the cache forever
        cache.clear()
    cache[key] = value


# ------------------------------------------------------------------------------------------ the app calls
def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency; `route` is the matched route's template, never a raw path."""
    m = _STATE.get("m") or _metrics()
    pair = m.request_children.get((route, method, status)) or m.request_child(route, method, status)
    pair[0](seconds)
    pair[1]()


def observe_error(kind: str) -> None:
    """Count one error answered, by kind (e.g. validation, unauthorized, forbidden, not_found, timeout)."""
    m = _STATE.get("m") or _metrics()
    m.child(m.errors, "kind", (kind,)).inc()


def observe_score(grade: str, model_version: str, count: int = 1) -> None:
    """Count leads scored by the serving model, by grade and version (`count` for a batch of one grade)."""
    m = _STATE.get("m") or _metrics()
    if count > 0:
        m.child(m.scores, "score", (grade, model_version)).inc(count)


def observe_shadow(version: str, count: int = 1) -> None:
    """Count leads scored in shadow by challenger `version` (`count` for a batch)."""
    m = _STATE.get("m") or _metrics()
    if count > 0:
        m.child(m.shadow, "shadow", (version,)).inc(count)


def observe_shadow_dropped() -> None:
    """Count one request whose shadow scoring was dropped because the worker's queue was full."""
    m = _STATE.get("m") or _metrics()
    m.shadow_dropped.inc()


def observe_shadow_error(version: str) -> None:
    """Count one shadow failure: challenger `version` raised on a request, or `write` (the log was not written)."""
    m = _STATE.get("m") or _metrics()
    m.child(m.shadow_errors, "shadow_error", (version,)).inc()


def set_model_version(version: str) -> None:
    """Say which model version this worker serves now (the previous one drops to 0 for this worker)."""
    m = _metrics()
    label = m.label("model_version", version)
    with m.lock:
        if m.version is not None and m.version != label:
            m.model_version.labels(m.version).set(0)
        m.model_version.labels(label).set(1)
        m.version = label


def render_metrics() -> tuple[bytes, str]:
    """The exposition text and its content type: summed over every worker in multiprocess mode."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    directory = _metrics().multiprocess_dir
    if directory is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    _forget_dead_workers(Path(directory))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def prepare_multiprocess_dir(path: Path | str) -> Path:
    """Empty (or create) the folder workers write their metrics to and set PROMETHEUS_MULTIPROC_DIR to it.

    Call it in the serve command before uvicorn starts its workers, so counters start at zero with each
    server; only prometheus-client's `*.db` files are removed, anything else in the folder is left alone.
    """
    folder = Path(path).resolve()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"metrics folder {folder}: expected a directory, found a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file in folder.glob("*.db"):
            file.unlink()
    except OSError as exc:
        raise ConfigError(f"metrics folder {folder}: cannot prepare it: {exc}") from exc
    os.environ[ENV] = str(folder)
    return folder


def _forget_dead_workers(folder: Path) -> None:
    """Drop the live gauges of workers that are gone (a restarted worker must not count twice)."""
    from prometheus_client.multiprocess import mark_process_dead

    for file in folder.glob("gauge_live*_*.db"):
        pid_text = file.stem.rsplit("_", 1)[-1]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            mark_process_dead(int(pid_text), str(folder))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
