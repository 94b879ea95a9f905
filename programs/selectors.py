from django.db.models import Count, Q, QuerySet, Sum

from programs.access import programs_for
from programs.models import Participant, Program


def program_list_for(user) -> QuerySet[Program]:
    return (
        programs_for(user)
        .select_related("organization")
        .annotate(
            mentee_count=Count("participants", filter=Q(participants__role="mentee")),
            mentor_count=Count("participants", filter=Q(participants__role="mentor")),
        )
        .order_by("organization__name", "name", "id")
    )


def program_headcount(program: Program) -> dict[str, int]:
    """Mentees, mentors and the mentors' total capacity, in one query."""
    row = Participant.objects.filter(program=program).aggregate(
        mentees=Count("id", filter=Q(role=Participant.Role.MENTEE)),
        mentors=Count("id", filter=Q(role=Participant.Role.MENTOR)),
        capacity=Sum("capacity", filter=Q(role=Participant.Role.MENTOR)),
    )
    return {k: row[k] or 0 for k in ("mentees", "mentors", "capacity")}


def participant_search(
    program: Program, *, query: str = "", role: str = ""
) -> QuerySet[Participant]:
    qs = Participant.objects.filter(program=program)
    if role in Participant.Role.values:
        qs = qs.filter(role=role)
    for word in query.split()[:5]:
        qs = qs.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(department__icontains=word)
            | Q(location__icontains=word)
            | Q(title__icontains=word)
        )
    return qs.order_by("last_name", "first_name", "id")
