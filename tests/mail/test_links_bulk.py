"""links_bulk: the PostgreSQL insert (links_pg) and the portable one write the same links."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pairing_admin.mail.links import Purpose, link_resolve, links_bulk
from pairing_admin.mail.models import AccessLink
from tests import factories

PATHS = [
    pytest.param(False, id="portable"),
    pytest.param(True, id="postgresql", marks=pytest.mark.needs_postgres),
]


@pytest.mark.parametrize("use_sql", PATHS)
def test_each_row_gets_its_own_working_link_in_order(program, use_sql):
    mentee = factories.ParticipantFactory(program=program)
    mentor = factories.MentorFactory(program=program)
    expires = timezone.now().replace(microsecond=0) + timedelta(days=3)
    rows = [
        (Purpose.PREFERENCES, program.pk, mentee.pk, None, expires),
        (Purpose.APPROVE, program.pk, mentor.pk, 42, expires),
    ]

    urls = links_bulk(rows, use_sql=use_sql)

    assert len(set(urls)) == 2
    assert AccessLink.objects.count() == 2
    for url, (purpose, _, participant_id, object_id, _) in zip(urls, rows, strict=True):
        resolved = link_resolve(url.rstrip("/").rsplit("/", 1)[-1])
        assert resolved.problem == ""
        link = resolved.link
        assert (link.purpose, link.participant_id, link.object_id) == (
            purpose,
            participant_id,
            object_id,
        )
        assert link.program_id == program.pk
        assert link.expires_at == expires
        assert link.used_at is None
