"""Stopping a running service on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM. Off the main thread (a test running the service in
    a thread) or where the loop has no signal handlers, Ctrl-C keeps its default."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
