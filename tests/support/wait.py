"""Polling for what another process (a worker, a server) does in its own time."""

import time


def wait_until(predicate, timeout: float = 30.0) -> bool:
    """Poll `predicate` every 0.1 s until it is true or `timeout` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
