"""Converters from other recording formats into stream_replay cassettes."""
