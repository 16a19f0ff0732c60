"""The plugin's run-wide state and its per-test steps, kept out of the hook module so
that an unrelated pytest run imports none of it.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from .claims import RunClaims
from .paths import cassette_path, name_without_ids, record_command
from .settings import ConfigError, Settings, marker_options, resolve
from .stats import RunStats

MARKER = "stream_replay"
CLAIMS_KEY = "stream_replay_claims"
STATS_KEY = "stream_replay"


class Run:
    """What one pytest run (one process: the controller or a worker) knows."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rootdir = Path(config.rootpath)
        self.invocation_dir = Path(config.invocation_params.dir)
        self.stats = RunStats()
        self.ini_layers, self.cli_layers, self.dir_option = _run_layers(config)
        self.run_settings = resolve([*self.ini_layers, *self.cli_layers])  # checked at configure
        given = getattr(config, "workerinput", {}).get(CLAIMS_KEY)
        self._claims_folder: Path | None = Path(given) if given else None
        self._owns_claims = False
        self.verify_report: list[str] = []
        #: A test function's nodeid -> the positions of its ids that parametrizing only the
        #: plugin's own fixtures gave it (``pytest_generate_tests``): not in its default name.
        self.own_ids: dict[str, tuple[int, ...]] = {}

    def claims(self) -> RunClaims:
        if self._claims_folder is None:
            self._claims_folder = Path(tempfile.mkdtemp(prefix="stream-replay-run-"))
            self._owns_claims = True
        return RunClaims(self._claims_folder)

    def close(self) -> None:
        if self._owns_claims and self._claims_folder is not None:
            shutil.rmtree(self._claims_folder, ignore_errors=True)

    def verify(self, base_url: str | None) -> bool:
        """``--stream-replay-verify``: re-send the requests of every cassette the run used;
        the report goes to the terminal summary. True if anything drifted."""
        import io

        from ..recording.verify import verify

        paths = sorted({record["cassette"] for record in self.stats.records})
        existing = [p for p in (self.rootdir / name for name in paths) if p.exists()]
        if not existing:
            self.verify_report = ["no cassette was used: nothing to verify"]
            return False
        from ..errors import StreamReplayError

        out = io.StringIO()
        try:
            code = verify(existing, out, base_url=base_url)
        except StreamReplayError as exc:  # unreachable server, unreadable cassette: say so, fail the run
            self.verify_report = [*out.getvalue().splitlines(), *str(exc).splitlines()]
            return True
        self.verify_report = out.getvalue().splitlines()
        return code != 0

    def header(self) -> str:
        settings = self.run_settings
        mode = f"mode={settings.mode} ({settings.source('mode')})"
        directory = settings["dir"]
        if directory is None:
            where = "dir=cassettes/ beside each test file (default)"
        else:
            shown = _shown(Path(directory), self.rootdir)
            where = f"dir={shown} ({settings.source('dir')})"
        return f"stream-replay: {mode}, {where}"

    # ------------------------------------------------------------------ a test

    def settings_for(self, item: pytest.Item, fixture_options: Any) -> Settings:
        if not isinstance(fixture_options, Mapping):
            kind = type(fixture_options).__name__
            raise ConfigError(f"stream_replay: the stream_replay_config fixture must return a dict, got {kind}")
        markers = list(item.iter_markers(MARKER))  # closest first
        layers = [*self.ini_layers, ("stream_replay_config fixture", _rooted(fixture_options, self.rootdir))]
        for marker in reversed(markers):
            source = f"stream_replay marker of {item.nodeid}"
            layers.append((source, _rooted(marker_options(marker.args, marker.kwargs, source), self.rootdir)))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("stream_replay_faults") is not None:  # faults.parametrize
            layers.append((f"faults.parametrize of {item.nodeid}", {"faults": params["stream_replay_faults"]}))
        layers.extend(self.cli_layers)
        return resolve(layers)

    def node_name(self, item: pytest.Item) -> str:
        """The test's name in its default cassette's: its name without the ids that only
        the plugin's own fixtures' parametrization gave it, so that a test run once per set
        of options or of faults replays one recording (``test_x[v2-fast]``: ``test_x[v2]``)."""
        parent, original = item.parent, getattr(item, "originalname", None)
        positions = self.own_ids.get(f"{parent.nodeid}::{original}") if parent is not None else None
        ids = getattr(getattr(item, "callspec", None), "_idlist", None)
        if not positions or not isinstance(original, str) or not isinstance(ids, (list, tuple)):
            return item.name
        return name_without_ids(item.name, original, ids, positions)

    def begin(self, item: pytest.Item, fixture_options: Any) -> Any:
        from .session import StreamReplay

        try:
            settings = self.settings_for(item, fixture_options)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        test_file = Path(item.path)
        where = {
            "test_file": test_file,
            "rootdir": self.rootdir,
            "class_name": item.cls.__name__ if getattr(item, "cls", None) is not None else None,  # type: ignore[attr-defined]
            "directory": settings["dir"],
            "cassette": settings["cassette"],
        }
        name = self.node_name(item)
        path = cassette_path(node_name=name, **where)
        renamed = stale = None
        if name != item.name:
            # Recorded before the plugin's own ids left the default name: that file still
            # serves while none has the new name, and is said to be unread once one has.
            named_before = cassette_path(node_name=item.name, **where)
            if named_before != path and named_before.exists():
                if path.exists():
                    stale = named_before
                else:
                    path, renamed = named_before, path

        def command(mode: str) -> str:
            return record_command(
                nodeid=item.nodeid,
                test_file=test_file,
                invocation_dir=self.invocation_dir,
                mode=mode,
                directory_option=self.dir_option,
            )

        test = StreamReplay(
            settings=settings,
            cassette_path=path,
            display=_shown(path, self.rootdir),
            nodeid=item.nodeid,
            command=command,
            claims=self.claims(),
        )
        if renamed is not None:
            test.notes.append(_old_name_note(test.display, _shown(renamed, self.rootdir)))
        if stale is not None:
            test.notes.append(_unread_note(_shown(stale, self.rootdir), test.display))
        test.start()
        return test


#: Why a cassette recorded before may have a longer name than its test's default now.
_IDS_LEFT = "the ids of a parametrized stream_replay_config or faults.parametrize left default cassette names"


def _old_name_note(old: str, new: str) -> str:
    return (
        f"{old} serves its test under the name it had before {_IDS_LEFT}; rename it to {new} "
        "so that every run of the test replays it"
    )


def _unread_note(old: str, new: str) -> str:
    return (
        f"{old} is no longer read: {new} serves every run of its test, since {_IDS_LEFT}; "
        f"delete {old} once {new} holds what the test needs"
    )


def _shown(path: Path, rootdir: Path) -> str:
    try:
        return str(path.relative_to(rootdir))
    except ValueError:
        return str(path)


def _rooted(options: Mapping[str, Any], rootdir: Path) -> dict[str, Any]:
    """``dir`` from the fixture or a marker is relative to the rootdir."""
    rooted = dict(options)
    if isinstance(rooted.get("dir"), str) and rooted["dir"].strip():
        rooted["dir"] = str(rootdir / rooted["dir"])
    return rooted


Layer = tuple[str, dict[str, Any]]


def _run_layers(config: pytest.Config) -> tuple[list[Layer], list[Layer], str | None]:
    """The ini layers, the command-line layers, and ``--stream-replay-dir`` as typed."""
    ini_file = config.inipath.name if config.inipath is not None else "the ini file"
    ini_base = config.inipath.parent if config.inipath is not None else Path(config.rootpath)
    ini: list[Layer] = []
    mode = str(config.getini("stream_replay_mode") or "").strip()
    if mode:
        ini.append((f"stream_replay_mode in {ini_file}", {"mode": mode}))
    directory = str(config.getini("stream_replay_dir") or "").strip()
    if directory:
        ini.append((f"stream_replay_dir in {ini_file}", {"dir": str(ini_base / directory)}))
    for option in ("drift", "record_errors"):
        value = str(config.getini(f"stream_replay_{option}") or "").strip()
        if value:
            ini.append((f"stream_replay_{option} in {ini_file}", {option: value}))
    for option in ("redact_fields", "redact_patterns"):  # linelists: one path or pattern a line
        lines = [str(line).strip() for line in config.getini(f"stream_replay_{option}") or ()]
        if any(lines):
            ini.append((f"stream_replay_{option} in {ini_file}", {option: [line for line in lines if line]}))
    cli: list[Layer] = []
    cli_drift = config.getoption("stream_replay_drift")
    if cli_drift:
        cli.append(("--stream-replay-drift", {"drift": cli_drift}))
    cli_mode = config.getoption("stream_replay_mode")
    if cli_mode:
        cli.append(("--stream-replay-mode", {"mode": cli_mode}))
    dir_option = config.getoption("stream_replay_dir")
    if dir_option:
        cli.append(("--stream-replay-dir", {"dir": str(Path(config.invocation_params.dir) / dir_option)}))
    return ini, cli, dir_option or None


def surfaced(raised: BaseException | None) -> Iterator[BaseException]:
    """Every exception in ``raised``'s chain, causes, contexts and groups."""
    seen: set[int] = set()
    stack = [raised] if raised is not None else []
    while stack:
        exc = stack.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        stack.extend(e for e in (exc.__cause__, exc.__context__) if e is not None)
        stack.extend(getattr(exc, "exceptions", ()) or ())
