"""The recorder's writes survive contention and crashes.

Several processes appending to one cassette at once lose nothing; a process killed
with SIGKILL at any moment (while saving, or mid-stream while recording) leaves a
cassette that loads, with everything committed before the kill still in it and no
interaction half-written. Real bundled interactions, a real loopback server, real
processes and real signals; nothing here asserts on wall-clock durations.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import multiprocessing
import random
import select
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stream_replay.cassette import Interaction, load_cassette
from stream_replay.errors import CassetteError
from stream_replay.recording.writer import CassetteWriter
from tests.support.corpus import CASSETTES
from tests.support.wire_server import Reply, WireServer

# Real processes, many of them, killed with SIGKILL at random moments: seconds, most of these.
pytestmark = pytest.mark.slow

SOURCES = ("v2_text.yaml", "v2_tool_calls.yaml")
SOURCE = CASSETTES / "v2_text.yaml"
WRITERS = 4
ROUNDS = 25
KEY = "durability-dummy-key-5b8e1d"  # long enough not to occur by chance in a cassette
LINE_TIMEOUT = 60.0  # seconds to wait for one line from a child before giving up


def labelled(interaction: Interaction, label: str) -> Interaction:
    """The real ``interaction`` with its request's messages replaced by one user message ``label``."""
    body = interaction.request.body
    json = {**body.json, "messages": [{"role": "user", "content": label}]}
    request = dataclasses.replace(interaction.request, body=dataclasses.replace(body, json=json))
    return dataclasses.replace(interaction, request=request)


def label_of(interaction: Interaction) -> str:
    content: str = interaction.request.body.json["messages"][0]["content"]
    return content


def wire(interaction: Interaction) -> list[tuple[str, str | None, bytes | None]]:
    stream = interaction.response.stream
    assert stream is not None
    return [(e.name, e.data, e.raw) for e in stream.events]


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def loaded_labels(path: Path) -> list[str]:
    """The labels in the cassette at ``path`` ([] when it does not exist yet); fails if it is damaged."""
    if not path.exists():
        return []
    try:
        cassette = load_cassette(path)
    except CassetteError as exc:  # pragma: no cover - the failure this file guards against
        raise AssertionError(f"damaged cassette: {exc}") from exc
    return [label_of(i) for i in cassette.interactions]


# --------------------------------------------------------------- concurrent writers


def _contend(path: str, writer: int, barrier: Any) -> None:
    """One writer process: ``ROUNDS`` appends, started together with the others."""
    sources = [load_cassette(CASSETTES / name).interactions[0] for name in SOURCES]
    mine = [labelled(sources[r % len(sources)], f"writer {writer} round {r}") for r in range(ROUNDS)]
    barrier.wait(timeout=LINE_TIMEOUT)
    for interaction in mine:
        CassetteWriter(path).append(interaction)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    processes = [context.Process(target=_contend, args=(str(path), w, barrier)) for w in range(WRITERS)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join(timeout=300)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
    assert [p.exitcode for p in processes] == [0] * WRITERS

    cassette = load_cassette(path)
    labels = [label_of(i) for i in cassette.interactions]
    expected = {f"writer {w} round {r}" for w in range(WRITERS) for r in range(ROUNDS)}
    counts = Counter(labels)
    assert len(labels) == WRITERS * ROUNDS
    assert set(counts) == expected and set(counts.values()) == {1}
    for w in range(WRITERS):  # each writer's appends are kept in the order it made them
        assert [x for x in labels if x.startswith(f"writer {w} ")] == [f"writer {w} round {r}" for r in range(ROUNDS)]
    sources = {name: load_cassette(CASSETTES / name).interactions[0] for name in SOURCES}
    for interaction in cassette.interactions:
        r = int(label_of(interaction).rsplit(" ", 1)[1])
        assert wire(interaction) == wire(sources[SOURCES[r % len(SOURCES)]])
    assert temp_files(tmp_path) == []
    interleaved = sum(1 for a, b in itertools.pairwise(labels) if a.split()[1] != b.split()[1])
    print(f"\n{WRITERS} writers x {ROUNDS} rounds: {len(labels)} interactions, {interleaved} writer switches")


# --------------------------------------------------------------- SIGKILL while saving

APPENDER = textwrap.dedent(
    """
    import dataclasses, sys
    from stream_replay.cassette import load_cassette
    from stream_replay.recording.writer import CassetteWriter, new_meta

    path, tag, source = sys.argv[1:4]
    base = load_cassette(source).interactions[0]
    writer = CassetteWriter(path)
    new_meta()  # imports the SDK now: the kills must land among appends, not during imports
    print("ready", flush=True)
    for i in range(200):
        label = f"{tag} append {i}"
        json = {**base.request.body.json, "messages": [{"role": "user", "content": label}]}
        request = dataclasses.replace(base.request, body=dataclasses.replace(base.request.body, json=json))
        writer.append(dataclasses.replace(base, request=request))
        print("committed", label, flush=True)
    """
)


def read_line(process: subprocess.Popen[str]) -> str:
    """The child's next stdout line, waiting at most ``LINE_TIMEOUT`` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], LINE_TIMEOUT)
    if not ready:
        process.kill()
        raise AssertionError(f"no output from the child in {LINE_TIMEOUT:.0f} s")
    line = process.stdout.readline()
    if not line:
        stderr = process.stderr.read() if process.stderr is not None else ""
        raise AssertionError(f"the child ended early (exit {process.wait(timeout=10)}):\n{stderr}")
    return line.rstrip("\n")


def kill_and_collect(process: subprocess.Popen[str]) -> list[str]:
    """SIGKILL the child (unless it has ended by itself); the lines it printed since the last read."""
    process.send_signal(signal.SIGKILL)
    out, err = process.communicate(timeout=LINE_TIMEOUT)
    assert process.returncode in (0, -signal.SIGKILL), f"the child failed (exit {process.returncode}):\n{err}"
    return out.splitlines()


def test_sigkill_while_saving_never_damages_the_cassette_or_loses_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "killed.yaml"
    rng = random.Random(20240611)
    kills = 20
    before: list[str] = []
    finished_before_kill = 0
    unconfirmed = 0  # kills after a save's os.replace, before the child printed it
    for k in range(kills):
        process = subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(path), f"kill {k}", str(SOURCE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert read_line(process) == "ready"
            # the delay is a random moment, not a measure: nothing is asserted on time
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=rng.uniform(0.05, 0.5))
            lines = kill_and_collect(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        committed = [line.removeprefix("committed ") for line in lines if line.startswith("committed ")]
        if process.returncode == 0:  # it made all its appends before the kill (not expected)
            assert len(committed) == 200
            finished_before_kill += 1

        after = loaded_labels(path)  # loads without CassetteError, or does not exist yet
        assert after[: len(before)] == before, f"kill {k}: interactions committed earlier were lost or changed"
        new = after[len(before) :]
        # every append the child saw return is on disk; at most one more (saved, then killed before printing)
        assert new[: len(committed)] == committed, f"kill {k}: a committed append is missing"
        assert len(new) - len(committed) in (0, 1)
        unconfirmed += len(new) - len(committed)
        assert new == [f"kill {k} append {i}" for i in range(len(new))]
        before = after

    final = load_cassette(path)
    assert len(final.interactions) == len(before) > 0
    leftovers = temp_files(tmp_path)
    assert all(p.name.startswith(f".{path.name}.") for p in leftovers)
    print(
        f"\n{kills} SIGKILLs while appending ({finished_before_kill} children finished first, "
        f"{unconfirmed} killed between a save and its report): "
        f"{len(before)} interactions kept, 0 damaged files, {len(leftovers)} temp files left behind"
    )


PAUSED_BEFORE_REPLACE = textwrap.dedent(
    """
    import dataclasses, os, sys, time
    from stream_replay.cassette import load_cassette
    from stream_replay.recording.writer import CassetteWriter

    path, label, source = sys.argv[1:4]
    base = load_cassette(source).interactions[0]
    real_replace = os.replace

    def paused_replace(src, dst):  # the temp file is written and fsynced: stop right here
        print("replacing", flush=True)
        time.sleep(30)
        real_replace(src, dst)

    os.replace = paused_replace
    json = {**base.request.body.json, "messages": [{"role": "user", "content": label}]}
    request = dataclasses.replace(base.request, body=dataclasses.replace(base.request.body, json=json))
    CassetteWriter(path).append(dataclasses.replace(base, request=request))
    """
)


def test_sigkill_between_the_temp_file_and_the_replace_keeps_the_old_cassette(tmp_path: Path) -> None:
    path = tmp_path / "paused.yaml"
    base = load_cassette(SOURCE).interactions[0]
    for i in range(3):
        CassetteWriter(path).append(labelled(base, f"before {i}"))
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSED_BEFORE_REPLACE, str(path), "killed", str(SOURCE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert read_line(process) == "replacing"
        kill_and_collect(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    assert loaded_labels(path) == [f"before {i}" for i in range(3)]
    (orphan,) = temp_files(tmp_path)  # the killed save's complete new text, never put in place
    assert orphan.name.startswith(f".{path.name}.")
    assert [label_of(i) for i in load_cassette(orphan).interactions] == [*(f"before {i}" for i in range(3)), "killed"]
    CassetteWriter(path).append(labelled(base, "after"))  # the next writer is not misled by it
    assert loaded_labels(path) == [*(f"before {i}" for i in range(3)), "after"]
    print(f"\nSIGKILL before os.replace: old cassette intact, {len(temp_files(tmp_path))} temp file left behind")


# --------------------------------------------------------------- SIGKILL while recording

RECORDER = textwrap.dedent(
    """
    import sys
    import cohere
    from stream_replay import record_client
    from stream_replay.cassette import load_cassette

    path, url, tag, key, source = sys.argv[1:6]
    body = load_cassette(source).interactions[0].request.body.json
    with record_client(path, cohere.ClientV2, api_key=key, base_url=url) as co:
        print("ready", flush=True)
        for i in range(4):
            kwargs = {k: v for k, v in body.items() if k != "stream"}
            kwargs["messages"] = [{"role": "user", "content": f"{tag} stream {i}"}]
            for n, _ in enumerate(co.chat_stream(**kwargs)):
                if n == 0:
                    print("first", i, flush=True)
            print("done", i, flush=True)
    """
)


def stalling(body: bytes, after: int, stall: float) -> Reply:
    """The real stream at 5 ms per event, that stops for ``stall`` seconds after ``after`` events."""
    reply = Reply.stream(body, "sse", delay=0.005)
    delays = list(reply.delays)
    delays[after] = stall
    return dataclasses.replace(reply, delays=delays)


def test_sigkill_mid_stream_keeps_only_complete_interactions(tmp_path: Path, wire_server: WireServer) -> None:
    path = tmp_path / "recording.yaml"
    source = load_cassette(SOURCE).interactions[0]
    stream = source.response.stream
    assert stream is not None
    body = stream.body()
    rng = random.Random(7)
    kills = 8
    before: list[str] = []
    for k in range(kills):
        in_flight = rng.randrange(4)  # streams before it complete; it is killed mid-stream
        # it stalls (5 s) after a few events, so the kill, at most 0.5 s after its first
        # event, always lands while it is open
        wire_server.queue(*[Reply.stream(body, "sse", delay=0.005)] * in_flight, stalling(body, 5, 5.0))
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                RECORDER,
                str(path),
                wire_server.url,
                f"kill {k}",
                KEY,
                str(CASSETTES / "v2_text.yaml"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            lines = [read_line(process)]
            while lines[-1] != f"first {in_flight}":
                lines.append(read_line(process))
            # a random moment, not a measure: nothing is asserted on time
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=rng.uniform(0.0, 0.5))
            lines += kill_and_collect(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        done = [int(line.split()[1]) for line in lines if line.startswith("done ")]
        assert done == list(range(in_flight))

        after = loaded_labels(path)
        assert after[: len(before)] == before, f"kill {k}: interactions recorded earlier were lost or changed"
        assert after[len(before) :] == [f"kill {k} stream {i}" for i in done], f"kill {k}: not exactly the completed"
        cassette = load_cassette(path)
        for interaction in cassette.interactions[len(before) :]:
            recorded = interaction.response.stream
            assert recorded is not None and recorded.outcome == "completed"
            assert wire(interaction) == wire(source)  # every event, none half-written
        before = after

    leftovers = temp_files(tmp_path)
    assert all(p.name.startswith(f".{path.name}.") for p in leftovers)
    print(
        f"\n{kills} SIGKILLs mid-stream while recording: {len(before)} complete interactions kept, "
        f"{kills} in-flight streams lost whole, 0 damaged files, {len(leftovers)} temp files left behind"
    )
