"""Exporters: stream_replay cassettes in other formats.

PYTEST_DONT_REWRITE
"""
