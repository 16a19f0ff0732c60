"""The pytest plugin's parts; the hook module is ``stream_replay.pytest_plugin``.

PYTEST_DONT_REWRITE
"""
