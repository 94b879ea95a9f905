"""Storing, previewing, applying and discarding a CSV import.

A file whose header is fine is stored as a ParticipantImport; its rows are
validated again (parse.py) on every preview and on confirm, and a file with
any row error cannot be applied. Applying is one transaction of set-based
writes, so 10,000 rows cost a handful of queries, not 10,000.
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from pairing_admin.lib.db import analyze, is_postgresql
from pairing_admin.lib.errors import DomainError
from programs import hooks
from programs.imports.apply_pg import participants_copy_upsert
from programs.imports.parse import (
    ImportFileError,
    ParsedImport,
    RowError,
    decode_upload,
    parse_import,
)
from programs.models import (
    ActivityEvent,
    Participant,
    ParticipantCount,
    ParticipantImport,
    Program,
)
from programs.services import activity_record, lock_participants

PREVIEW_ROWS = 50
# An import creating this many people refreshes the planner statistics of the tables
# it filled (pairing_admin.lib.db.analyze) instead of waiting for autovacuum.
ANALYZE_AFTER = 1000


@dataclass
class ImportPreview:
    parsed: ParsedImport
    new_count: int
    update_count: int

    @property
    def row_count(self) -> int:
        return len(self.parsed.rows)


@transaction.atomic
def import_create(*, program: Program, user, filename: str, data: bytes) -> ParticipantImport:
    """Store an uploaded file for preview; ImportFileError if the file is unusable."""
    text = decode_upload(data)
    parsed = parse_import(text, default_mentor_capacity=program.default_mentor_capacity)
    if parsed.file_errors:
        raise ImportFileError(" ".join(parsed.file_errors))
    return ParticipantImport.objects.create(
        program=program,
        uploaded_by=user if user and user.is_authenticated else None,
        filename=(filename or "upload.csv")[-255:],
        content=text,
    )


def import_preview(*, participant_import: ParticipantImport) -> ImportPreview:
    """What confirming would do; reads only (a GET shows it)."""
    program = participant_import.program
    parsed = parse_import(
        participant_import.content, default_mentor_capacity=program.default_mentor_capacity
    )
    known = _known(program, parsed)
    parsed.row_errors += _conflicts(program, parsed, known)
    updates = sum(1 for row in parsed.rows if row["email"] in known)
    return ImportPreview(parsed=parsed, new_count=len(parsed.rows) - updates, update_count=updates)


# A person already in the program, as the import compares them: a row of
# values_list(*_KNOWN, named=True) (cheap to make by the ten thousand).
_KNOWN = ("pk", "email", "role", "capacity", "first_name", "last_name")
_Known = Any


def _known(program: Program, parsed: ParsedImport, *, pks=None) -> dict[str, _Known]:
    """{email: person} for the program's people (or only those with `pks`)."""
    if not parsed.rows:
        return {}
    people = Participant.objects.filter(program=program)
    if pks is not None:
        people = people.filter(pk__in=pks)
    return {person.email: person for person in people.values_list(*_KNOWN, named=True)}


def _name(person: _Known) -> str:
    return f"{person.first_name} {person.last_name}".strip()


def _capacities(parsed: ParsedImport, known: dict[str, _Known], program: Program) -> list[int]:
    """Each row's capacity after the import.

    A capacity written in the file wins. Otherwise a person who keeps their
    role keeps their capacity (a blank cell must not reset a mentor to the
    program's default), and a new mentor, or a mentee becoming one, gets the
    program's default; mentees have 0.
    """
    out = []
    for row in parsed.rows:
        person = known.get(row["email"])
        if row["email"] in parsed.explicit_capacity:
            out.append(row["capacity"])
        elif person is not None and person.role == row["role"]:
            out.append(person.capacity)
        elif row["role"] == Participant.Role.MENTOR:
            out.append(program.default_mentor_capacity)
        else:
            out.append(0)
    return out


def _changes(parsed: ParsedImport, known: dict[str, _Known], program: Program):
    """(line, change) for the rows that change a known person's role or capacity in
    a way a registered check (programs.hooks: pairing's ties) may forbid."""
    for line, row, capacity in zip(
        parsed.lines, parsed.rows, _capacities(parsed, known, program), strict=True
    ):
        person = known.get(row["email"])
        if person is None:
            continue
        change = hooks.ProfileChange(
            participant_id=person.pk,
            name=_name(person),
            old_role=person.role,
            old_capacity=person.capacity,
            role=row["role"],
            capacity=capacity,
        )
        if hooks.change_touched(change):
            yield line, change


def _conflicts(program: Program, parsed: ParsedImport, known: dict[str, _Known]) -> list[RowError]:
    """A row error for each change a registered check forbids (pairing: the
    person's pairings, requests or staged auto-pair proposals)."""
    changes = list(_changes(parsed, known, program))
    if not changes:
        return []
    found = hooks.change_problems(program=program, changes=[change for _, change in changes])
    return [
        RowError(line, *found[change.participant_id])
        for line, change in changes
        if change.participant_id in found
    ]


def import_apply(*, participant_import: ParticipantImport, user=None) -> ParticipantImport:
    """Apply a previewed file, all or nothing, at most once (and say so in the activity log)."""
    program = participant_import.program
    _ensure_waiting(participant_import)
    # Validate before taking any lock; the stored text cannot change, but the
    # program's default capacity may have since the preview.
    parsed = parse_import(
        participant_import.content, default_mentor_capacity=program.default_mentor_capacity
    )
    if not parsed.is_valid:
        raise DomainError(
            "This file has errors, so nothing was imported. Fix them and upload it again."
        )
    with transaction.atomic():
        known = _known(program, parsed)
        # The people whose role or capacity the file changes: locked (as an
        # approval locks its mentor), then read again and checked against
        # their pairings, so none can be paired meanwhile.
        changing = [change.participant_id for _, change in _changes(parsed, known, program)]
        if changing:
            lock_participants(changing)
            known |= _known(program, parsed, pks=changing)
            conflicts = _conflicts(program, parsed, known)
            if conflicts:
                first = conflicts[0]
                more = len(conflicts) - 1
                raise DomainError(
                    f"Nothing was imported. Line {first.line}: {first.reason}"
                    + (f" ({more} more row{'s' if more > 1 else ''} like it.)" if more else "")
                )
        # The conditional update is the once-only guard: a second confirm
        # (double click, two tabs) finds the status already changed.
        claimed = ParticipantImport.objects.filter(
            pk=participant_import.pk, status=ParticipantImport.Status.PREVIEW
        ).update(status=ParticipantImport.Status.APPLIED, applied_at=timezone.now())
        if not claimed:
            participant_import.refresh_from_db(fields=["status"])
            _ensure_waiting(participant_import)
        created, updated = participants_upsert(program=program, parsed=parsed, known=known)
        _announce(program, parsed, known)
        ParticipantImport.objects.filter(pk=participant_import.pk).update(
            created_count=created, updated_count=updated
        )
        activity_record(
            program=program,
            actor=user,
            verb=ActivityEvent.Verb.PARTICIPANTS_IMPORTED,
            detail=f"{participant_import.filename}: {created} new, {updated} updated",
        )
    if created >= ANALYZE_AFTER:
        analyze(
            [
                Participant._meta.db_table,
                ParticipantCount._meta.db_table,
                *hooks.tables_following_participants(),
            ]
        )
    participant_import.refresh_from_db()
    return participant_import


def _announce(program: Program, parsed: ParsedImport, known: dict[str, _Known]) -> None:
    """Tell programs.hooks who the import added (all in one call) and whose room to
    mentor it changed: new mentors, roles to or from mentor, mentors' capacities."""
    mentor = Participant.Role.MENTOR
    new = [row["email"] for row in parsed.rows if row["email"] not in known]
    added: list[tuple[int, str]] = []
    for start in range(0, len(new), 10_000):  # SQLite caps the parameters of a statement
        people = Participant.objects.filter(program=program, email__in=new[start : start + 10_000])
        added += people.values_list("pk", "role")
    changed = [pk for pk, role in added if role == mentor]
    for row, capacity in zip(parsed.rows, _capacities(parsed, known, program), strict=True):
        was = known.get(row["email"])
        now = (row["role"], capacity)
        if was and mentor in (was.role, row["role"]) and (was.role, was.capacity) != now:
            changed.append(was.pk)
    hooks.participants_added(program=program, participant_ids=[pk for pk, _ in added])
    hooks.mentors_changed(program=program, mentor_ids=changed)


def _ensure_waiting(participant_import: ParticipantImport) -> None:
    if participant_import.status == ParticipantImport.Status.APPLIED:
        raise DomainError("This file was already imported.")
    if participant_import.status == ParticipantImport.Status.DISCARDED:
        raise DomainError("This file was discarded; upload it again to import it.")


def participants_upsert(
    *, program: Program, parsed: ParsedImport, known: dict[str, _Known] | None = None
) -> tuple[int, int]:
    """Insert or update every row by (program, email); returns (created, updated).

    Must run inside a transaction. A fixed number of queries whatever the
    number of rows: on PostgreSQL a COPY into a temporary table and one
    INSERT ... ON CONFLICT from it; elsewhere batched bulk_create upserts.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("participants_upsert must run inside transaction.atomic()")
    if known is None:
        known = _known(program, parsed)
    rows = parsed.rows
    capacities = _capacities(parsed, known, program)
    # Only the columns the file provides overwrite people already there, and
    # the capacity (worked out per row: kept unless written in or the role changes).
    update_fields = [*parsed.provided_fields, "updated_at"]
    if "capacity" not in update_fields:
        update_fields.append("capacity")
    upsert = participants_copy_upsert if is_postgresql() else _participants_bulk_upsert
    upsert(program=program, rows=rows, capacities=capacities, update_fields=update_fields)
    updated = sum(1 for row in rows if row["email"] in known)
    return len(rows) - updated, updated


def _participants_bulk_upsert(
    *, program: Program, rows: list[dict], capacities: list[int], update_fields: list[str]
) -> None:
    """The portable way: batched bulk_create upserts (apply_pg.py is PostgreSQL's)."""
    Participant.objects.bulk_create(
        [
            Participant(
                program=program,
                source=Participant.Source.IMPORT,
                **{**row, "capacity": capacity},
            )
            for row, capacity in zip(rows, capacities, strict=True)
        ],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["program", "email"],
        update_fields=update_fields,
    )


def import_discard(*, participant_import: ParticipantImport) -> bool:
    """Drop a file waiting for confirmation; False if it was no longer waiting."""
    return bool(
        ParticipantImport.objects.filter(
            pk=participant_import.pk, status=ParticipantImport.Status.PREVIEW
        ).update(status=ParticipantImport.Status.DISCARDED, content="")
    )
