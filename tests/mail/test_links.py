from datetime import timedelta

from django.utils import timezone

from pairing_admin.mail.links import (
    Purpose,
    link_create,
    link_resolve,
    link_url,
    link_use,
    token_hash,
)
from pairing_admin.mail.models import AccessLink
from tests import factories


def _link(purpose=Purpose.PREFERENCES, **kwargs):
    mentee = factories.ParticipantFactory()
    expires = kwargs.pop("expires_at", timezone.now() + timedelta(days=1))
    return link_create(purpose=purpose, participant=mentee, expires_at=expires, **kwargs)


def test_only_the_hash_of_the_token_is_stored(db):
    link, raw = _link()
    assert len(raw) >= 40
    stored = AccessLink.objects.get(pk=link.pk)
    assert stored.token_hash == token_hash(raw) and raw not in stored.token_hash


def test_resolve_finds_a_valid_link_and_rejects_others(db):
    link, raw = _link()
    assert link_resolve(raw).link == link and link_resolve(raw).problem == ""
    assert link_resolve(raw[:-1] + ("A" if raw[-1] != "A" else "B")).problem == "unknown"
    assert link_resolve("").problem == "unknown"
    assert link_resolve("x" * 500).problem == "unknown"


def test_expired_link_is_refused(db):
    _, raw = _link(expires_at=timezone.now() - timedelta(seconds=1))
    assert link_resolve(raw).problem == "expired"


def test_link_acts_at_most_once(db):
    link, raw = _link(Purpose.APPROVE, object_id=7)
    assert link_use(link) is True
    assert link_use(link) is False
    assert link_resolve(raw).problem == "used"


def test_preference_page_opens_for_the_right_person_and_sets_private_headers(db, client):
    link, raw = _link()
    url = link_url(raw, Purpose.PREFERENCES)
    response = client.get(url.split("127.0.0.1:8000", 1)[-1])
    assert response.status_code == 200
    assert link.participant.first_name in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_cross_purpose_and_unknown_links_get_one_neutral_page(db, client):
    _, approve_raw = _link(Purpose.APPROVE, object_id=1)
    wrong_purpose = client.get(f"/p/{approve_raw}/")
    unknown = client.get("/p/not-a-real-token/")
    assert wrong_purpose.status_code == unknown.status_code == 404
    for response in (wrong_purpose, unknown):
        assert "This link can't be used" in response.content.decode()


def test_link_pages_never_change_state_on_get_or_head(db, client):
    link, raw = _link()
    client.get(f"/p/{raw}/")
    client.head(f"/p/{raw}/")
    assert client.post(f"/p/{raw}/").status_code == 405
    link.refresh_from_db()
    assert link.used_at is None
