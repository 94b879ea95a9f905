"""Run actions at the same moment, each in its own thread and database connection.

For races on PostgreSQL in `transaction=True` tests: the outcome of each
action says whether it won, was refused with a DomainError, or crashed.
"""

import threading

from django.db import connection

from pairing_admin.lib.errors import DomainError


def race(actions) -> list[str]:
    """Run every action at the same moment in its own thread; their outcomes."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = [""] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            action()
            outcomes[index] = "won"
        except DomainError as exc:
            outcomes[index] = f"refused: {exc}"
        except Exception as exc:  # a crash must show up in the assertion
            outcomes[index] = f"crashed: {type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
