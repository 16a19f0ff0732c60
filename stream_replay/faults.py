"""``stream_replay.faults``: the documented import path of the fault values
(``faults.disconnect(after=3)``, ``faults.parametrize(...)``), which live in
``stream_replay.replay.faults``. (PYTEST_DONT_REWRITE)"""

from .replay.faults import *  # noqa: F403
from .replay.faults import __all__ as __all__
