"""The email that confirms a self-registration (programs.registration asks for it)."""

from pairing_admin.mail.outbox import Draft, outbox_add
from programs.email_kinds import EmailKind
from programs.models import PendingRegistration, Program
from programs.registration import deadline_text


def registration_confirm_email(
    *, program: Program, pending: PendingRegistration, confirm_url: str
) -> None:
    """programs.hooks' registration_requested callback (registered in ProgramsConfig.ready).

    Written in the transaction that stored the pending registration; sent
    after it commits. The key names the token (a hash of it), so each link
    is emailed once and a new submission's link gets its own email.
    """
    outbox_add(
        [
            Draft(
                kind=EmailKind.REGISTRATION_CONFIRM,
                key=f"registration_confirm:{pending.pk}:{pending.token_hash[:32]}",
                to_email=pending.email,
                # What the visitor typed is not proof of anything: the To
                # header gets the bare address.
                values={
                    "first_name": pending.details.get("first_name", ""),
                    "program_name": program.name,
                    "organization_name": program.organization.name,
                    "confirm_link": confirm_url,
                    "confirm_by": deadline_text(pending.expires_at, program),
                },
            )
        ],
        program=program,
    )
