"""An open-loop, fixed-rate HTTP/1.1 load generator (run as its own process: wrk2 is not in Debian).

Requests are due at start + i / rate whatever happened before; each latency is measured from the time the
request was due, so a server that falls behind is charged for the queue it causes (no coordinated omission).
`python -m benchmarks.serving_load --url URL --rate R --seconds S [--body FILE] [--header 'K: V']` prints one
JSON object: due, sent, ok, errors (by kind), p50/p99/p999/max latency in ms, the achieved rate, and how late
the generator itself was in sending and the CPU share it used (its own cost, which bounds what the
figures can say).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np


@dataclass
class Tally:
    """What the run saw: per-request latencies (from the due time), send lags and errors by kind."""

    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def build_request(url: str, method: str, body: bytes, headers: list[str]) -> tuple[str, int, bytes]:
    """(host, port, the raw request bytes) for a keep-alive HTTP/1.1 request to `url`."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"serving_load: --url must be http://host:port/path, got {url!r}")
    port = parts.port or 80
    path = parts.path or "/"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.hostname}:{port}", "Connection: keep-alive"]
    lines += [h.strip() for h in headers]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return parts.hostname, port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request and read its whole response; the status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value.strip())
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _worker(
    host: str, port: int, request: bytes, due: asyncio.Queue[float | None], tally: Tally, timeout: float
) -> None:
    """One keep-alive connection taking due times off the queue until it reads None."""
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while True:
        when = await due.get()
        if when is None:
            break
        try:
            conn, status = await asyncio.wait_for(_send(host, port, conn, request), timeout)
            tally.latencies.append(time.perf_counter() - when)
            if not 200 <= status < 300:
                tally.errors[f"status {status}"] += 1
        except TimeoutError:
            tally.errors["timeout"] += 1
            _drop(conn)
            conn = None
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.errors[type(exc).__name__] += 1
            _drop(conn)
            conn = None
    _drop(conn)


async def _send(
    host: str, port: int, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None, request: bytes
) -> tuple[tuple[asyncio.StreamReader, asyncio.StreamWriter], int]:
    """(the connection, the status) of one request; a kept-alive connection the server closed while idle (its
    keep-alive timeout) is reopened and the request sent once more, as HTTP clients do."""
    if conn is not None:
        try:
            return conn, await _exchange(*conn, request)
        except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError) as exc:
            if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                raise  # the server started answering: a real failure, not an idle close
            _drop(conn)
    fresh = await asyncio.open_connection(host, port)
    return fresh, await _exchange(*fresh, request)


def _drop(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    """Close a connection that failed or is done with (None: the next request opens a new one)."""
    if conn is not None:
        conn[1].close()


async def run(url: str, rate: float, seconds: float, body: bytes, headers: list[str], connections: int) -> Tally:
    """Issue round(rate * seconds) requests at their due times over up to `connections` keep-alive connections."""
    host, port, request = build_request(url, "POST" if body else "GET", body, headers)
    tally = Tally()
    due: asyncio.Queue[float | None] = asyncio.Queue()
    workers = [asyncio.create_task(_worker(host, port, request, due, tally, 10.0)) for _ in range(connections)]
    total = round(rate * seconds)
    start = time.perf_counter() + 0.05
    for i in range(total):
        when = start + i / rate
        delay = when - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tally.lags.append(time.perf_counter() - when)
        due.put_nowait(when)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    return tally


def summary(tally: Tally, rate: float, seconds: float, wall: float) -> dict[str, object]:
    """The run as plain JSON: counts, latency percentiles (ms) and the generator's own send lag."""
    lat = np.asarray(tally.latencies) * 1000.0
    lag = np.asarray(tally.lags) * 1000.0
    done = len(lat)
    return {
        "rate": rate,
        "seconds": seconds,
        "due": round(rate * seconds),
        "sent": len(lag),
        "completed": done,
        "ok": done - sum(v for k, v in tally.errors.items() if k.startswith("status")),
        "errors": dict(tally.errors),
        "error_count": sum(tally.errors.values()),
        "achieved_rate": done / wall if wall > 0 else 0.0,
        "p50_ms": float(np.percentile(lat, 50)) if done else None,
        "p99_ms": float(np.percentile(lat, 99)) if done else None,
        "p999_ms": float(np.percentile(lat, 99.9)) if done else None,
        "max_ms": float(lat.max()) if done else None,
        "send_lag_p99_ms": float(np.percentile(lag, 99)) if len(lag) else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the load, print the summary as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second, fixed")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--body", type=Path, help="JSON body file (POST); GET without one")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections in the pool")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0:
        raise SystemExit(f"serving_load: --rate and --seconds must be > 0, got {args.rate} and {args.seconds}")
    body = args.body.read_bytes() if args.body else b""
    began, cpu = time.perf_counter(), time.process_time()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        tally = runner.run(run(args.url, args.rate, args.seconds, body, args.header, args.connections))
    wall = time.perf_counter() - began
    result = summary(tally, args.rate, args.seconds, wall)
    result["generator_cpu_share"] = (time.process_time() - cpu) / wall
    print(json.dumps(result))
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed (a cheaper generator leaves more CPU to the server), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    sys.exit(main())
