"""Every factory makes a row the database accepts, its people in the row's own program."""

import factory
import pytest
from django.apps import apps

from tests import factories

FACTORIES = [
    f
    for f in vars(factories).values()
    if isinstance(f, type) and issubclass(f, factory.django.DjangoModelFactory)
]
# Only the database's triggers write these (a row per pending request, each mentee's
# standing, and the kept counts): a factory would write what the triggers own.
NO_FACTORY = {
    "pairing.PendingRequest",
    "pairing.MenteeStanding",
    "pairing.StandingCount",
    "pairing.RequestCount",
    "programs.ParticipantCount",
}


def test_every_model_of_the_project_has_a_factory():
    covered = {f._meta.model._meta.label for f in FACTORIES}
    ours = {
        m._meta.label for app in ("mail", "programs", "pairing", "invitations")
        for m in apps.get_app_config(app).get_models()
    }  # fmt: skip
    assert ours - covered == NO_FACTORY


@pytest.mark.django_db
@pytest.mark.parametrize("model_factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_makes_a_valid_row(model_factory):
    row = model_factory()
    row.full_clean(exclude=["password"])
    program_id = getattr(row, "program_id", None)
    for person in ("mentee", "mentor", "participant"):
        if program_id and hasattr(row, f"{person}_id"):
            assert getattr(row, person).program_id == program_id, person
