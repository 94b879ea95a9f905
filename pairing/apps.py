from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate

from pairing import (
    email_kinds,
    pairing_figures,
    pending_triggers,
    request_counts,
    standing_triggers,
)
from pairing.verbs import Verb
from pairing_admin.mail.kinds import register_kinds
from programs.activity import register_verbs


def _drop_triggers(sender, using, **kwargs) -> None:
    pairing_figures.drop_sqlite_triggers(connections[using])
    standing_triggers.drop_sqlite_triggers(connections[using])
    request_counts.COUNTED.before_migrate_sqlite(connections[using])


def _ensure_triggers(sender, using, **kwargs) -> None:
    pending_triggers.ensure_sqlite_triggers(connections[using])
    pairing_figures.ensure_sqlite_triggers(connections[using])
    standing_triggers.ensure_sqlite_triggers(connections[using])
    request_counts.COUNTED.ensure_sqlite(connections[using])


class PairingConfig(AppConfig):
    name = "pairing"
    verbose_name = "Pairing"

    def ready(self) -> None:
        from pairing.models import MenteeStanding, StandingCount
        from pairing.participant_ties import change_problems, change_touches_pairing
        from pairing.question_impact import candidate_impact
        from pairing.rule_preview import candidates_change
        from pairing.services import seats_changed
        from pairing.unpaired import not_engaged
        from programs import hooks

        # SQLite drops a table's triggers when a migration rebuilds the table.
        post_migrate.connect(_ensure_triggers, sender=self)
        pre_migrate.connect(_drop_triggers, sender=self)
        register_verbs(Verb)
        # Admins see pairing's emails after the invitation (mail.kinds).
        register_kinds(
            email_kinds.EmailKind,
            order=20,
            variables=email_kinds.VARIABLES,
            defaults=email_kinds.DEFAULTS,
            required=email_kinds.REQUIRED,
        )
        # A mentor's seats changed (an admin's edit, an import, a registration):
        # close the requests of those now full, offer free seats to the waitlist.
        hooks.register_mentors_changed(seats_changed)
        # An edit or an import may not change a role or capacity that a pairing,
        # a request or a staged auto-pair proposal depends on.
        hooks.register_change_check(touches=change_touches_pairing, problems=change_problems)
        # Whom invitations may invite: nobody paired or waiting on a request.
        hooks.register_engaged_filter(not_engaged)
        # The Match weights page shows what a change of rules does to the candidates.
        hooks.register_candidates_preview(candidates_change)
        # The questions editor shows what a change does to the candidates before saving.
        hooks.register_candidate_impact(candidate_impact)
        # The database writes a standing row per mentee (standing_triggers): a
        # large import refreshes their statistics with the participants'.
        hooks.register_tables_following_participants(
            MenteeStanding._meta.db_table, StandingCount._meta.db_table
        )
