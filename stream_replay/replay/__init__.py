"""Replay: a cassette served to the real cohere SDK through an httpx transport. (PYTEST_DONT_REWRITE)"""
