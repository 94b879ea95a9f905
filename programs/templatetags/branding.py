"""`{% brand_of program as brand %}`: the brand participant_base.html shows."""

from django import template

from programs import branding

register = template.Library()


@register.simple_tag
def brand_of(program):
    """The program's brand, or None where a page has no program (the neutral link page)."""
    return branding.brand_of(program) if program else None
