"""The triggers that keep RequestCount (a program's requests per status).

A statement trigger leaves the requests table's updates HOT (no index of it
names status). How the counts stay right under concurrent writes:
pairing_admin.lib.kept_counts.
"""

from pairing_admin.lib.kept_counts import KeptCount

COUNTED = KeptCount(
    "pairing_request_counted", "pairing_mentorrequest", "pairing_requestcount", "status"
)
