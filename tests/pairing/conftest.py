"""Fixtures shared by the pairing tests."""

import pytest

from tests import factories


@pytest.fixture
def live_program(org):
    """Pairing on, user-led with approval, choose again after a decline, waitlist on."""
    return factories.ProgramFactory(organization=org, pairing_enabled=True)
