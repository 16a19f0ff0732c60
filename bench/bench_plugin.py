"""The pytest plugin against its peers: the marginal cost per test of a 200-test suite,
each test replaying a real recorded stream.

Six suites are generated in a temporary folder, with the same test body: build
``cohere.ClientV2()`` (as application code does), stream the recorded chat, check
the last event. They differ only in how the answer is served:

- ``baseline``: 200 tests that build nothing and stream nothing (pytest's own cost);
- ``mock``: a hand-written ``httpx.MockTransport`` giving the SDK the recorded body
  bytes (the client built with ``httpx_client=``): the floor for anything that goes
  through the SDK's own parse;
- ``vcrpy``: ``@pytest.mark.vcr``, pytest-recording's default cassette per test, in
  vcrpy's format, written by vcrpy's own serializer (record mode ``none``);
- ``sdk``: ``@pytest.mark.stream_replay``, our cassette per test (the SDK path);
- ``fast``: the same with ``{"fast": True}`` from the ``stream_replay_config`` fixture;
- ``floor``: no replay at all, only the SDK's own work for the same answer: the client
  built (its httpx client given a transport, as the mock's), and each recorded event
  built from its JSON text (held in the test module) as the fast path builds it: parsed
  by ``json``'s C scanner, validated by the class the SDK's union gives its type. It is
  the floor for the fast path, as the mock is for the SDK path: no replay that yields
  the SDK's objects can cost less, and what the fast path costs above it is its own
  work (reading the cassette, matching the request, the plugin's fixture).

Each suite runs as its own ``python -m pytest`` process, in rounds; the marginal cost per
test is (suite - baseline) / 200 on the medians. Goals: ``sdk`` within 1.2x of ``mock``'s
per-test cost, ``fast`` at most 0.08x of ``vcrpy``'s. The floor's ratio to ``vcrpy`` says
how much of that 0.08x the SDK itself takes.

In each round, every suite runs about as long as vcrpy's suite runs once (the number of
its runs per round is set from the warm-up, as pyperf calibrates its loops), its runs
interleaved with the others'. The short suites need the samples: the fast path's cost is
the difference of two runs of about a second that the machine's noise moves by a tenth
each. Beside each ratio, a bootstrap interval (the runs of each suite resampled) shows how
far that noise leaves it uncertain. On a virtual machine, the run also says how much CPU
time the hypervisor took from it while the suites were timed (``steal`` in
``/proc/stat``): one source of that noise the run can see.

With ``--instructions``, each suite also runs once under valgrind (cachegrind, no
cache simulation), and the same ratios are given in instructions executed: a count
that machine noise does not move (to about a millionth), for comparing two versions of
the code. It is not the goal's measure: it leaves out what memory costs (the garbage
collector's walks, cache misses), which is where the wall clock's ratios differ.

    python bench/bench_plugin.py [--tests 200] [--repeats 5] [--cassette v2_text] [--instructions]

``--repeats`` is the number of rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import CASSETTES, print_table, ratio, write_vcr

from stream_replay import Cassette, load_cassette, save_cassette

BODY = """
def {name}():
    co = cohere.ClientV2(api_key="bench-key")
    events = list(co.chat_stream(**REQUEST))
    assert events[-1].type == "message-end"
"""

CONFTEST_FAST = """
import pytest

@pytest.fixture
def stream_replay_config():
    return {"fast": True}
"""


TIMER = """
import json, os, time
import pytest

_times = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.perf_counter()
    yield
    _times[item.nodeid] = time.perf_counter() - start


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_TIMES"], "w") as out:
        json.dump(_times, out)
"""


MOCK = """
import httpx
from pathlib import Path

BODY = (Path(__file__).parent / "body.bin").read_bytes()


def handler(request):
    return httpx.Response(200, headers={{"content-type": "{content_type}"}}, content=BODY)

"""

FLOOR = """
import json
import json.scanner
import typing

import httpx

TEXTS = {texts}


def _classes():
    # The SDK's own event classes, by type: the members of the union chat_stream yields.
    # (Read here rather than by stream_replay.sdk.event_classes: the floor imports none of ours.)
    union = typing.get_args(typing.get_type_hints(ClientV2.chat_stream)["return"])[0]
    while typing.get_origin(union) is typing.Annotated:
        union = typing.get_args(union)[0]
    return {{typing.get_args(c.model_fields["type"].annotation)[0]: c for c in typing.get_args(union)}}


CLASSES = _classes()
TRANSPORT = httpx.MockTransport(lambda request: httpx.Response(500))
SCAN = json.scanner.make_scanner(json.JSONDecoder())  # json.loads's C scanner, as the fast path parses


def chat_stream():
    for text in TEXTS:
        payload = SCAN(text, 0)[0]
        yield CLASSES[payload["type"]].model_validate(payload)

"""

BODY_FLOOR = """
def {name}():
    co = cohere.ClientV2(api_key="bench-key", httpx_client=httpx.Client(transport=TRANSPORT))
    events = list(chat_stream())
    assert events[-1].type == "message-end"
"""

BODY_MOCK = """
def {name}():
    co = cohere.ClientV2(api_key="bench-key", httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))
    events = list(co.chat_stream(**REQUEST))
    assert events[-1].type == "message-end"
"""


def _write_suite(folder: Path, kind: str, tests: int, source: Path) -> None:
    loaded = load_cassette(source)
    cassette = Cassette(loaded.interactions[:1], loaded.meta)  # the first chat of it
    body = cassette.interactions[0].request.body.json
    assert isinstance(body, dict)
    request = {k: v for k, v in body.items() if k != "stream"}
    folder.mkdir(parents=True)
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    marker = {"baseline": "", "vcrpy": "@pytest.mark.vcr", "sdk": "@pytest.mark.stream_replay"}.get(
        kind, "@pytest.mark.stream_replay"
    )
    # The SDK's client classes are imported at the top, as application code does, so
    # the (lazy) import of cohere's client modules is in every suite, the baseline too.
    lines = ["import cohere", "import pytest", "from cohere import ClientV2", f"REQUEST = {json.dumps(request)}", ""]
    if kind == "mock":
        stream = cassette.interactions[0].response.stream
        assert stream is not None
        (folder / "body.bin").write_bytes(stream.body())
        lines.append(MOCK.format(content_type="text/event-stream"))
    if kind == "floor":
        stream = cassette.interactions[0].response.stream
        assert stream is not None
        lines.append(FLOOR.format(texts=repr([e.data for e in stream.events if e.data is not None])))
    for index in range(tests):
        name = f"test_{index:03d}"
        if kind == "baseline":
            lines.append(f"def {name}():\n    pass\n")
        elif kind == "mock":
            lines.append(BODY_MOCK.format(name=name))
        elif kind == "floor":
            lines.append(BODY_FLOOR.format(name=name))
        else:
            lines.append(marker + BODY.format(name=name))
    (folder / "test_suite.py").write_text("\n".join(lines))
    if kind == "fast":
        (folder / "conftest.py").write_text(CONFTEST_FAST)
    cassettes = folder / "cassettes" / "test_suite"
    if kind == "vcrpy":
        cassettes.mkdir(parents=True)
        for index in range(tests):
            write_vcr(cassettes / f"test_{index:03d}.yaml", cassette)
    elif kind in ("sdk", "fast"):
        cassettes.mkdir(parents=True)
        first = cassettes / "test_000.yaml"
        save_cassette(cassette, first)
        text = first.read_text()
        for index in range(1, tests):
            (cassettes / f"test_{index:03d}.yaml").write_text(text)


def _pytest(folder: Path, *plugins: str, **env: str) -> tuple[list[str], dict[str, str]]:
    """The command that runs the suite in ``folder`` with these plugins, and its environment."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    for plugin in plugins:
        command += ["-p", plugin]
    # Python's default (cached bytecode), whatever the shell says.
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environ.update(PYTHONPATH=str(folder.parent), **env)
    return [*command, str(folder)], environ


def _run(folder: Path) -> tuple[float, float, float]:
    """Wall seconds of the whole run, the median per test of pytest's own timing of its
    setup, call and teardown (what each test costs once everything is imported), and the
    seconds outside the tests (start-up, imports, collection, the first test's extra)."""
    times = folder.parent / f"{folder.name}-times.json"
    command, env = _pytest(folder, "_bench_timer", BENCH_TIMES=str(times))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{folder.name}: pytest failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    per_test = json.loads(times.read_text())
    values = list(per_test.values())
    median = statistics.median(values)
    return elapsed, median, elapsed - median * len(values)


def _stolen() -> float | None:
    """CPU seconds the hypervisor has taken from this machine since it booted (the
    ``steal`` column of ``/proc/stat``, all CPUs), or None where that is not known."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _runs_per_round(warm: dict[str, float]) -> dict[str, int]:
    """How many times each suite runs in a round: about as long, in all, as the longest
    suite's one run (at most 8 runs), from the warm-up's times."""
    longest = max(warm.values())
    return {kind: max(1, min(8, round(longest / seconds))) for kind, seconds in warm.items()}


def _interval(samples: dict[str, list[float]], kind: str, peer: str, rounds: int = 2000) -> tuple[float, float]:
    """The 5th and 95th percentiles of ``kind``'s per-test cost over ``peer``'s, each
    suite's runs resampled with replacement (a fixed seed: the same runs give the same
    interval)."""
    rng = random.Random(0)

    def median_of(values: list[float]) -> float:
        return statistics.median(rng.choices(values, k=len(values)))

    ratios = []
    for _ in range(rounds):
        base = median_of(samples["baseline"])
        ratios.append((median_of(samples[kind]) - base) / (median_of(samples[peer]) - base))
    ratios.sort()
    return ratios[int(0.05 * rounds)], ratios[int(0.95 * rounds) - 1]


def _instructions(folder: Path) -> int:
    """Instructions executed by the suite's whole run, under valgrind's cachegrind."""
    command, env = _pytest(folder, PYTHONHASHSEED="0")  # the same dict orders in every run
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *command]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False, env=env)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{folder.name}: the run under valgrind failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _print_instructions(counts: dict[str, int], tests: int) -> None:
    per_test = {kind: (counts[kind] - counts["baseline"]) / tests for kind in counts}
    rows = [
        [
            kind,
            f"{counts[kind] / 1e9:.3f}",
            "" if kind == "baseline" else f"{per_test[kind] / 1e6:.2f}",
            "" if kind in ("baseline", "vcrpy") else ratio(per_test[kind], per_test["vcrpy"]),
            "" if kind in ("baseline", "mock") else ratio(per_test[kind], per_test["mock"]),
        ]
        for kind in counts
    ]
    print("\ninstructions executed (valgrind cachegrind, one run each; not the goal's measure):")
    print_table("suite", ["suite", "G instr", "M instr per test", "vs vcrpy", "vs mock"], rows)
    print(
        f"SDK path {per_test['sdk'] / per_test['mock']:.3f}x the mock, "
        f"fast path {per_test['fast'] / per_test['vcrpy']:.3f}x vcrpy, in instructions"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="rounds; in each, every suite runs about as long as the longest suite runs once (default 5)",
    )
    parser.add_argument(
        "--cassette",
        default="v2_text",
        help="bundled v2 cassette whose first chat each test replays (default v2_text: the corpus's "
        "test_stream, 74 events; v2_citations has 25, the lower quartile of the corpus's v2 streams)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the instructions each suite executes, under valgrind (minutes: vcrpy's suite "
        "runs about 30x slower under it)",
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind on PATH (Debian: apt install valgrind)")
    try:
        import pytest_recording  # noqa: F401
    except ImportError:
        raise SystemExit("bench_plugin needs pytest-recording: pip install pytest-recording") from None

    source = CASSETTES / f"{args.cassette}.yaml"
    kinds = ["baseline", "mock", "vcrpy", "sdk", "fast", "floor"]
    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as tmp:
        (Path(tmp) / "_bench_timer.py").write_text(TIMER)
        folders = {kind: Path(tmp) / kind for kind in kinds}
        for kind, folder in folders.items():
            _write_suite(folder, kind, args.tests, source)
        warm = {kind: _run(folder)[0] for kind, folder in folders.items()}  # warm-up: file caches, bytecode
        runs = _runs_per_round(warm)
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        steady: dict[str, list[float]] = {kind: [] for kind in kinds}
        outside: dict[str, list[float]] = {kind: [] for kind in kinds}
        stolen_before, timed_from = _stolen(), time.perf_counter()
        for _ in range(args.repeats):
            for turn in range(max(runs.values())):
                for kind, folder in folders.items():
                    if turn < runs[kind]:
                        wall, single, rest = _run(folder)
                        samples[kind].append(wall)
                        steady[kind].append(single)
                        outside[kind].append(rest)
        stolen_after, timed_for = _stolen(), time.perf_counter() - timed_from
        # Timing first, on a quiet machine; valgrind's runs after.
        counts = {kind: _instructions(folder) for kind, folder in folders.items()} if args.instructions else None

    median = {kind: statistics.median(values) for kind, values in samples.items()}
    per_test = {kind: (median[kind] - median["baseline"]) / args.tests for kind in kinds}
    events = len(load_cassette(source).interactions[0].response.stream.events)  # type: ignore[union-attr]
    counts_of_runs = ", ".join(f"{kind} {len(samples[kind])}" for kind in kinds)
    print(
        f"{args.tests} tests, each replaying the first chat of {source.name} ({events} events); "
        f"medians over {args.repeats} rounds, the runs of each suite interleaved ({counts_of_runs} runs)"
    )
    one = {kind: statistics.median(values) - statistics.median(steady["baseline"]) for kind, values in steady.items()}
    rows = []
    for kind in kinds:
        marginal = "" if kind == "baseline" else f"{per_test[kind] * 1000:.2f}"
        versus = "" if kind in ("baseline", "vcrpy") else ratio(per_test[kind], per_test["vcrpy"])
        versus_mock = "" if kind in ("baseline", "mock") else ratio(per_test[kind], per_test["mock"])
        inside = "" if kind == "baseline" else f"{one[kind] * 1000:.2f}"
        inside_versus = "" if kind in ("baseline", "vcrpy") else ratio(one[kind], one["vcrpy"])
        once = f"{statistics.median(outside[kind]):.2f}"
        rows.append(
            [
                kind,
                f"{median[kind]:.2f}",
                f"{min(samples[kind]):.2f}",
                marginal,
                versus,
                versus_mock,
                inside,
                inside_versus,
                once,
            ]
        )
    header = [
        "suite",
        "median s",
        "min s",
        "ms per test",
        "vs vcrpy",
        "vs mock",
        "in-test ms",
        "vs vcrpy",
        "outside s",
    ]
    print_table("suite", header, rows)
    print(
        "ms per test: (suite - baseline) / tests, wall clock, one-time costs included (the goal's measure);\n"
        "in-test ms: median over tests of the time pytest spends running one test (setup, call, teardown),\n"
        "minus the baseline's: the per-test cost once everything is imported;\n"
        "outside s: the run's wall time minus its tests at their median (start-up, imports, collection, exit)"
    )
    sdk = per_test["sdk"] / per_test["mock"]
    fast = per_test["fast"] / per_test["vcrpy"]
    low_sdk, high_sdk = _interval(samples, "sdk", "mock")
    low_fast, high_fast = _interval(samples, "fast", "vcrpy")
    print(
        f"goal: SDK path <= 1.2x httpx.MockTransport per test: {sdk:.3f}x, {'met' if sdk <= 1.2 else 'NOT met'} "
        f"(90% bootstrap interval {low_sdk:.3f}x to {high_sdk:.3f}x)"
    )
    print(
        f"goal: fast path <= 0.08x vcrpy per test: {fast:.3f}x, {'met' if fast <= 0.08 else 'NOT met'} "
        f"(90% bootstrap interval {low_fast:.3f}x to {high_fast:.3f}x)"
    )
    floor = per_test["floor"] / per_test["vcrpy"]
    low_floor, high_floor = _interval(samples, "floor", "vcrpy")
    print(
        f"the fast path's floor, the SDK's own work with no replay: {per_test['floor'] * 1000:.2f} ms per test, "
        f"{floor:.3f}x vcrpy (90% bootstrap interval {low_floor:.3f}x to {high_floor:.3f}x); the fast path's own "
        f"work above it: {(per_test['fast'] - per_test['floor']) * 1000:.2f} ms per test, where the 0.08x goal "
        f"leaves {(0.08 * per_test['vcrpy'] - per_test['floor']) * 1000:.2f} ms"
    )
    fastest = {kind: (min(samples[kind]) - min(samples["baseline"])) / args.tests for kind in kinds}
    print(
        "the same ratios on each suite's fastest run (how far the machine's noise moves them; not the "
        f"goal's measure): SDK path {fastest['sdk'] / fastest['mock']:.3f}x the mock, "
        f"fast path {fastest['fast'] / fastest['vcrpy']:.3f}x vcrpy"
    )
    if stolen_before is not None and stolen_after is not None:
        stolen = stolen_after - stolen_before
        print(
            f"while the suites were timed ({timed_for:.0f} s), the hypervisor took {stolen:.1f} s of this "
            f"machine's CPU time for others (steal, /proc/stat): on average {stolen / timed_for:.2f} of its "
            f"{os.cpu_count()} CPUs; the wall clock counts it against whichever suite was running"
        )
    if counts is not None:
        _print_instructions(counts, args.tests)


if __name__ == "__main__":
    main()
