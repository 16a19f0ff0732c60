"""``stream_replay.vcr_serializer``: the documented import path of the vcrpy serializer,
which lives in ``stream_replay.vcr.serializer``:
``my_vcr.register_serializer("stream_replay", stream_replay.vcr_serializer)``.
(PYTEST_DONT_REWRITE)"""

from .vcr.serializer import deserialize, serialize

__all__ = ["deserialize", "serialize"]
