"""Refuse every name lookup and connection that is not loopback.

Loaded by the conformance runs of ``bench/conformance.py`` (its copied projects'
conftests and ``litellm_driver.py``), so that a request escaping stream_replay fails
saying so instead of reaching the network. Not collected by this project's own run.
"""

from __future__ import annotations

import socket
from typing import Any

LOOPBACK = ("127.", "::1", "localhost")


def block_network(who: str) -> None:
    """From now on, in this process, a lookup or connection beyond loopback raises
    ``OSError("<who>: network blocked: ...")``."""

    def allowed(host: Any) -> bool:
        return host is None or str(host).startswith(LOOPBACK)

    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not allowed(host):
            raise OSError(f"{who}: network blocked: name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not allowed(address[0]):
            raise OSError(f"{who}: network blocked: connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not allowed(address[0]):
            raise OSError(f"{who}: network blocked: connect to {address!r}")
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
