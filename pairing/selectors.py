from programs.models import Program
from programs.selectors import program_headcount


def pairing_overview(program: Program) -> dict[str, int]:
    """What the pairing tabs can say before there are requests or pairings (one query)."""
    return program_headcount(program)
