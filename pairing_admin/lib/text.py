"""Small text rules shared by the apps."""


def one_line(value: str) -> str:
    """Every run of whitespace, newlines included, as one space; trimmed."""
    return " ".join(value.split())
