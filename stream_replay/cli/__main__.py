"""``python -m stream_replay.cli``: the ``stream-replay`` command. (PYTEST_DONT_REWRITE)"""

import sys

from . import main

sys.exit(main())
