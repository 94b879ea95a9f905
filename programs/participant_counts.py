"""The triggers that keep ParticipantCount (a program's participants per role).

How the counts stay right under concurrent writes: pairing_admin.lib.kept_counts.
"""

from pairing_admin.lib.kept_counts import KeptCount

COUNTED = KeptCount(
    "programs_participant_counted", "programs_participant", "programs_participantcount", "role"
)
