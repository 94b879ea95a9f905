"""Sending a support request: the stored request and its email, in one transaction."""

from django.db import transaction

from invitations.models import EmailKind
from invitations.outbox import Draft, outbox_add
from programs import services
from programs.models import Program, SupportRequest


@transaction.atomic
def support_request_submit(*, program: Program, user, subject: str, message: str) -> SupportRequest:
    """Store the request, log it, and queue the email to the organization's advisor.

    Raises DomainError (and writes nothing) when the organization has no
    address to send it to. Replies go straight to the admin (Reply-To).
    """
    request = services.support_request_create(
        program=program, user=user, subject=subject, message=message
    )
    admin_email = user.email or ""
    outbox_add(
        [
            Draft(
                kind=EmailKind.SUPPORT_REQUEST,
                key=f"support:{request.pk}",
                to_email=request.to_email,
                reply_to=admin_email,
                values={
                    "first_name": "",
                    "program_name": program.name,
                    "organization_name": program.organization.name,
                    "admin_name": user.get_full_name() or user.get_username(),
                    "admin_email": admin_email,
                    "request_subject": request.subject,
                    "message": request.message,
                },
            )
        ],
        program=program,
    )
    return request
