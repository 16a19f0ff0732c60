"""Converters from other recording formats into stream_replay cassettes. (PYTEST_DONT_REWRITE)"""
