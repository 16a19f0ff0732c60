"""``stream-replay serve`` under hostile load: memory, slow clients, concurrent streams.

A bounded local load test (127.0.0.1 only), not a timing comparison. The server runs in
a child process (this script with ``--child``: ``stream_replay.replay.server.serve`` on
the bundled ``cassettes/``, speed 0, ``header_timeout`` 2 s), so that its memory is
its own: the resident set size (``VmRSS`` in ``/proc/<pid>/status``) is read before and
after. Three phases:

1. **Unmatched requests.** 2,000 requests with distinct 100 KB JSON bodies that match
   nothing (so each gets a 404 with a field diff), from 4 client threads: half over
   kept-alive connections, half each on a new connection (a new server thread). After
   50 warm-up requests, the server's RSS is read before, every 500 requests, and after.
   Goal: growth under 20 MB.
2. **Slow clients.** 50 connections each send half a request line, then nothing. Each
   must be answered 408 and closed by the header timeout; the time until the last is
   closed is reported (goal: all closed within header_timeout + 1 s), and a normal
   request made while they hang must be answered at once.
3. **Concurrent streams.** 20 threads stream ``cassettes/v2_text.yaml``'s recorded
   answer at once (speed 0); each body must be byte-identical to the recording.

Then the server gets SIGTERM and must exit 0 with its "stopped (SIGTERM)" line.

Run: ``python bench/serve_load.py`` (about 30 s); ``--unmatched N --slow N --streams N``
shrink it, ``--json`` adds a last line of JSON with the figures (the slow test uses it).
Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
CASSETTES = REPO / "cassettes"
HEADER_TIMEOUT = 2.0
RSS_GOAL_MB = 20.0
BODY_BYTES = 100_000
CLIENT_THREADS = 4
WARMUP = 50
WAIT = 60.0  # seconds any one wait of the bench may last


def child(header_timeout: float) -> int:
    """The server: ``serve()`` as the command runs it, with a short header timeout."""
    sys.path.insert(0, str(REPO))
    from stream_replay.replay.server import serve

    return serve([CASSETTES], port=0, speed=0, header_timeout=header_timeout)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line")


def unmatched_body(number: int, template: dict[str, Any]) -> bytes:
    """A chat request near a recorded one, about ``BODY_BYTES`` long, different each time."""
    filler = f"request {number}: " + "lorem ipsum dolor sit amet " * 70
    messages = [{"role": "user", "content": filler} for _ in range(BODY_BYTES // len(filler))]
    return json.dumps({**template, "messages": messages}).encode()


def run_unmatched(url: str, pid: int, count: int, template: dict[str, Any]) -> dict[str, Any]:
    errors: queue.Queue[str] = queue.Queue()
    numbers = iter(range(WARMUP))
    lock = threading.Lock()
    samples: list[tuple[int, float]] = []
    done = [0]

    def next_number() -> int | None:
        with lock:
            return next(numbers, None)

    def client(fresh_connections: bool) -> None:
        headers = {"connection": "close"} if fresh_connections else {}
        with httpx.Client(timeout=WAIT) as http:
            while (number := next_number()) is not None:
                reply = http.post(url + "/v2/chat", content=unmatched_body(number, template), headers=headers)
                if reply.status_code != 404 or "Closest recorded" not in reply.json()["message"]:
                    errors.put(f"request {number}: {reply.status_code} {reply.text[:200]}")
                with lock:
                    done[0] += 1
                    if done[0] > WARMUP and (done[0] - WARMUP) % 500 == 0:
                        samples.append((done[0] - WARMUP, rss_mb(pid)))

    # warm-up: imports, caches and the first threads' arenas are settled before measuring
    warm = [threading.Thread(target=client, args=(i % 2 == 1,)) for i in range(CLIENT_THREADS)]
    for thread in warm:
        thread.start()
    for thread in warm:
        thread.join(WAIT)
    before = rss_mb(pid)
    numbers = iter(range(WARMUP, WARMUP + count))
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i % 2 == 1,)) for i in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 5)
    elapsed = time.monotonic() - started
    after = rss_mb(pid)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    return {
        "requests": count,
        "seconds": round(elapsed, 2),
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "rss_growth_mb": round(after - before, 1),
        "rss_samples": [(n, round(mb, 1)) for n, mb in samples],
        "failures": failures[:5],
        "failure_count": len(failures),
    }


def run_slow(url: str, count: int, header_timeout: float, template: dict[str, Any]) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    started = time.monotonic()
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=WAIT)
        sock.sendall(b"POST /v2/chat HTT")  # half a request line, then nothing
        sockets.append(sock)
    # a normal request while every slow connection hangs
    probe_started = time.monotonic()
    body = json.dumps({**template, "stream": True}).encode()
    with httpx.Client(timeout=WAIT) as http:
        probe = http.post(url + "/v2/chat", content=body)
    probe_seconds = time.monotonic() - probe_started
    closed_at: list[float] = []
    statuses: list[str] = []
    for sock in sockets:
        received = b""
        sock.settimeout(max(0.1, started + header_timeout + WAIT - time.monotonic()))
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError as exc:
            statuses.append(f"error {type(exc).__name__}")
        else:
            closed_at.append(time.monotonic() - started)
            statuses.append(received.split(b"\r\n", 1)[0].decode("latin-1"))
        sock.close()
    return {
        "connections": count,
        "closed": len(closed_at),
        "answered_408": sum(1 for s in statuses if s.startswith("HTTP/1.1 408")),
        "first_closed_s": round(min(closed_at), 2) if closed_at else None,
        "last_closed_s": round(max(closed_at), 2) if closed_at else None,
        "probe_status": probe.status_code,
        "probe_seconds": round(probe_seconds, 3),
    }


def run_streams(url: str, count: int, request_body: bytes, expected: bytes) -> dict[str, Any]:
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count, timeout=WAIT)

    def stream() -> None:
        received = b""
        try:
            with httpx.Client(timeout=WAIT) as http:
                barrier.wait()
                with http.stream("POST", url + "/v2/chat", content=request_body) as response:
                    for chunk in response.iter_raw():
                        received += chunk
        except Exception:
            pass
        with lock:
            results.append(received == expected)

    started = time.monotonic()
    threads = [threading.Thread(target=stream) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return {"streams": count, "identical": sum(results), "seconds": round(time.monotonic() - started, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unmatched", type=int, default=2000)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--header-timeout", type=float, default=HEADER_TIMEOUT)
    parser.add_argument("--json", action="store_true", help="end with one line of JSON holding the figures")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.header_timeout)

    sys.path.insert(0, str(REPO))
    from stream_replay.cassette import load_cassette

    recorded = load_cassette(CASSETTES / "v2_text.yaml").interactions[0]
    assert recorded.response.stream is not None
    request_body = recorded.request.body.to_bytes()
    template = json.loads(request_body)
    expected = recorded.response.stream.body()

    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", "--header-timeout", str(args.header_timeout)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert proc.stdout is not None
            box: queue.Queue[str] = queue.Queue()
            threading.Thread(target=lambda: box.put(proc.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
            line = box.get(timeout=WAIT)
            url = line.split()[-1]
            print(f"server: pid {proc.pid}, {line.strip()}")
            print(f"measuring the server process's RSS: VmRSS in /proc/{proc.pid}/status")

            unmatched = run_unmatched(url, proc.pid, args.unmatched, template)
            print(
                f"\n1. {unmatched['requests']} unmatched requests, {BODY_BYTES // 1000} KB bodies, "
                f"{CLIENT_THREADS} client threads (half on a new connection each): {unmatched['seconds']} s"
            )
            print(
                f"   server RSS: {unmatched['rss_before_mb']} MB before, {unmatched['rss_after_mb']} MB after "
                f"(growth {unmatched['rss_growth_mb']:+} MB; goal < {RSS_GOAL_MB:g} MB)"
            )
            print(f"   RSS every 500 requests: {unmatched['rss_samples']}")
            print(f"   unexpected answers: {unmatched['failure_count']} {unmatched['failures']}")

            slow = run_slow(url, args.slow, args.header_timeout, template)
            print(
                f"\n2. {slow['connections']} slow connections (half a request line, then nothing), "
                f"header_timeout {args.header_timeout:g} s"
            )
            print(
                f"   closed: {slow['closed']} ({slow['answered_408']} with 408), the first after "
                f"{slow['first_closed_s']} s, the last after {slow['last_closed_s']} s"
            )
            print(f"   a normal request meanwhile: {slow['probe_status']} in {slow['probe_seconds']} s")

            streams = run_streams(url, args.streams, request_body, expected)
            print(
                f"\n3. {streams['streams']} concurrent streams of cassettes/v2_text.yaml at speed 0: "
                f"{streams['identical']} byte-identical to the recording, {streams['seconds']} s"
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(timeout=WAIT)
            if proc.stdout is not None:
                proc.stdout.close()
        log.seek(0)
        lines = log.read().splitlines()
    stopped = [line for line in lines if line.startswith("stream-replay: stopped")]
    print(f"\nSIGTERM: exit code {code}, {stopped[-1] if stopped else 'no stop line'}")
    goals = {
        "rss_growth": unmatched["rss_growth_mb"] < RSS_GOAL_MB and unmatched["failure_count"] == 0,
        "slow_closed": slow["closed"] == slow["connections"] == slow["answered_408"]
        and slow["last_closed_s"] is not None
        and slow["last_closed_s"] <= args.header_timeout + 1.0
        and slow["probe_status"] == 200,
        "streams_identical": streams["identical"] == streams["streams"],
        "sigterm": code == 0 and bool(stopped) and "SIGTERM" in stopped[-1],
    }
    print("goals: " + ", ".join(f"{name} {'met' if ok else 'NOT MET'}" for name, ok in goals.items()))
    if args.json:
        print(json.dumps({"unmatched": unmatched, "slow": slow, "streams": streams, "exit": code, "goals": goals}))
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
