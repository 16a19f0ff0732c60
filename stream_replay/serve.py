"""``stream_replay.serve``: the documented import path of the HTTP server, which lives
in ``stream_replay.replay.server``. (PYTEST_DONT_REWRITE)"""

from .replay.server import ReplayServer, cassette_files, serve

__all__ = ["ReplayServer", "cassette_files", "serve"]
