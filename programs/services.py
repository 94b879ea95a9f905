from django.db import transaction

from programs.models import Organization, Participant, Program, WorkerPing
from programs.tasks import worker_ping


class DomainError(Exception):
    """A rule was broken; the message is meant for the person who acted."""


@transaction.atomic
def program_create(*, organization: Organization, name: str, **fields) -> Program:
    return Program.objects.create(organization=organization, name=name.strip(), **fields)


@transaction.atomic
def program_update(*, program: Program, **fields) -> Program:
    for key, value in fields.items():
        setattr(program, key, value)
    program.save(update_fields=[*fields.keys()])
    return program


def split_tags(raw: str) -> list[str]:
    """'Python; data, SQL' -> ['Python', 'data', 'SQL'] (order kept, duplicates dropped)."""
    seen: dict[str, str] = {}
    for part in raw.replace("|", ";").replace(",", ";").split(";"):
        tag = " ".join(part.split())
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag[:60]
    return list(seen.values())[:30]


@transaction.atomic
def participant_update(*, participant: Participant, **fields) -> Participant:
    for key, value in fields.items():
        setattr(participant, key, value)
    if "email" in fields:
        participant.email = participant.email.strip().lower()
    participant.save()
    return participant


@transaction.atomic
def worker_ping_request(*, user=None) -> WorkerPing:
    ping = WorkerPing.objects.create(requested_by=user)
    worker_ping.delay_on_commit(ping.pk)
    return ping
