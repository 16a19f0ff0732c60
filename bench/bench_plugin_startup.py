"""What the installed plugin costs a pytest run that does not use it.

A one-test suite and a 2,000-test suite with nothing of Cohere in them run as
``python -m pytest`` with the plugin (as installed) and with ``-p no:stream_replay``,
in shuffled turns; the differences are the plugin's cost at start and per test (its
hooks run for every test; the marker is looked up once per test, at collection). Wall
clock on a busy machine is noisy to tens of ms, so the import is also timed on its own
(``python -X importtime``), and the heavy modules the import loads are listed (the
goal: none).

    python bench/bench_plugin_startup.py [--repeats 21] [--tests 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ["cohere", "httpx", "vcr", "deepdiff", "yaml", "pydantic"]


def _pytest(folder: Path, *extra: str) -> float:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, str(folder)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pytest failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def _import_cost(env: dict[str, str]) -> tuple[int, list[str]]:
    """Microseconds ``-X importtime`` gives the plugin module (cumulative), and the heavy
    modules loaded by importing it after pytest."""
    probe = (
        "import pytest, json, sys\n"
        "import stream_replay.pytest_plugin\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    command = [sys.executable, "-X", "importtime", "-c", probe]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    cumulative = 0
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if found and found.group(2) == "stream_replay.pytest_plugin":
            cumulative = int(found.group(1))
    return cumulative, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--tests", type=int, default=2000, help="size of the many-test suite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        one = Path(tmp) / "one"
        many = Path(tmp) / "many"
        for folder in (one, many):
            folder.mkdir()
            (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        (one / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
        (many / "test_plain.py").write_text(
            f"import pytest\n\n@pytest.mark.parametrize('n', range({args.tests}))\n"
            "def test_plain(n):\n    assert n >= 0\n"
        )
        runs: dict[str, list[float]] = {"one": [], "one-off": [], "many": [], "many-off": []}
        for folder in (one, many):
            _pytest(folder)
            _pytest(folder, "-p", "no:stream_replay")
        disabled = ("-p", "no:stream_replay")
        plan: dict[str, tuple[Path, tuple[str, ...]]] = {
            "one": (one, ()),
            "one-off": (one, disabled),
            "many": (many, ()),
            "many-off": (many, disabled),
        }
        order = list(plan)
        shuffle = random.Random(7).shuffle  # a fresh order each round: no run always follows the long one
        for _ in range(args.repeats):
            shuffle(order)
            for name in order:
                folder, extra = plan[name]
                runs[name].append(_pytest(folder, *extra))
    compiled = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _import_cost(compiled)  # writes the bytecode
    cached, _ = _import_cost(compiled)
    no_bytecode, heavy = _import_cost({**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    median = {name: statistics.median(values) for name, values in runs.items()}
    low = {name: min(values) for name, values in runs.items()}
    print(f"unrelated pytest runs, median (min) of {args.repeats}, in turns, with the plugin and -p no:stream_replay:")
    for name, label in (("one", "1 test"), ("many", f"{args.tests} tests")):
        on, off = median[name], median[f"{name}-off"]
        print(
            f"  {label:>10}: {on * 1000:7.1f} ms ({low[name] * 1000:.1f}) vs {off * 1000:7.1f} ms "
            f"({low[name + '-off'] * 1000:.1f}): {(on - off) * 1000:+.1f} ms median, "
            f"{(low[name] - low[name + '-off']) * 1000:+.1f} ms min"
        )
    per_test = (median["many"] - median["many-off"]) - (median["one"] - median["one-off"])
    print(f"  per unrelated test: {per_test / (args.tests - 1) * 1e6:+.1f} us")
    print(
        f"importing stream_replay.pytest_plugin after pytest (-X importtime, cumulative): "
        f"{cached / 1000:.1f} ms from cached bytecode, "
        f"{no_bytecode / 1000:.1f} ms compiling it (PYTHONDONTWRITEBYTECODE)"
    )
    print(f"heavy modules it loads: {', '.join(heavy) if heavy else 'none'} (checked: {', '.join(HEAVY)})")


if __name__ == "__main__":
    main()
