"""Reading a person's answers the way tests compare them: by question key, choices as labels."""

from programs.models import Participant
from programs.questions import answer_labels, answers_of


def answers_by_key(person: Participant) -> dict[str, object]:
    """{question key: [labels] | number | text} of one person, as stored now."""
    person = Participant.objects.select_related("program").get(pk=person.pk)
    return answer_labels(person.program, answers_of([person.pk])).get(person.pk, {})
