"""Storing, previewing, applying and discarding a CSV import.

A file whose header is fine is stored as a ParticipantImport; its rows are
validated again (parse.py) on every preview and on confirm, and a file with
any row error cannot be applied. Applying is one transaction of set-based
writes, so 10,000 rows cost a handful of queries, not 10,000. The rows'
answers to the program's questions are written with them, for the questions
whose columns the file has.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from pairing_admin.lib.db import analyze, is_postgresql
from pairing_admin.lib.errors import DomainError
from programs import hooks
from programs.imports.apply_pg import participants_copy_upsert
from programs.imports.parse import (
    RECORD_COLUMNS,
    ImportFileError,
    ParsedImport,
    RowError,
    decode_upload,
    parse_import,
)
from programs.models import (
    ActivityEvent,
    Answer,
    Participant,
    ParticipantCount,
    ParticipantImport,
    Program,
    Question,
)
from programs.questions import answers_replace_many, questions_of
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
    parsed = _parse(program, text)
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
    parsed = _parse(program, participant_import.content)
    known = _known(program, parsed)
    parsed.row_errors += _unanswered(program, parsed, known)
    parsed.row_errors += _conflicts(program, parsed, known)
    parsed.row_errors.sort(key=lambda e: e.line)
    updates = sum(1 for row in parsed.rows if row["email"] in known)
    return ImportPreview(parsed=parsed, new_count=len(parsed.rows) - updates, update_count=updates)


def _parse(program: Program, text: str) -> ParsedImport:
    return parse_import(
        text,
        default_mentor_capacity=program.default_mentor_capacity,
        questions=questions_of(program),
    )


def _unanswered(program: Program, parsed: ParsedImport, known: dict[str, "_Known"]):
    """A row error for each required question a new person is asked whose column the
    file lacks (a blank cell is parse's to report; people already in the program keep
    the answers the file says nothing about)."""
    present = {*parsed.provided_fields, *parsed.answer_keys}
    missing = {
        column: q
        for q in questions_of(program)
        if q.required and (column := q.profile_field or q.key) not in present
    }
    if not missing:
        return []
    return [
        RowError(
            line,
            column,
            f"“{q.label}” is required, and the file has no {column} column "
            "to answer it for this new participant.",
        )
        for line, row in zip(parsed.lines, parsed.rows, strict=True)
        if row["email"] not in known
        for column, q in missing.items()
        if q.asks(row["role"])
    ]


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
    # program's default capacity and its questions may have since the preview.
    parsed = _parse(program, participant_import.content)
    if not parsed.is_valid:
        raise DomainError(
            "This file has errors, so nothing was imported. Fix them and upload it again."
        )
    with transaction.atomic():
        known = _known(program, parsed)
        unanswered = _unanswered(program, parsed, known)
        if unanswered:
            _refuse(unanswered)
        # The people whose role or capacity the file changes: locked (as an
        # approval locks its mentor), then read again and checked against
        # their pairings, so none can be paired meanwhile.
        changing = [change.participant_id for _, change in _changes(parsed, known, program)]
        if changing:
            lock_participants(changing)
            known |= _known(program, parsed, pks=changing)
            conflicts = _conflicts(program, parsed, known)
            if conflicts:
                _refuse(conflicts)
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
                Answer._meta.db_table,
                *hooks.tables_following_participants(),
            ]
        )
    participant_import.refresh_from_db()
    return participant_import


def _refuse(errors: list[RowError]) -> None:
    """DomainError naming the first of the rows the database's state refuses."""
    first = errors[0]
    more = len(errors) - 1
    raise DomainError(
        f"Nothing was imported. Line {first.line}: {first.reason}"
        + (f" ({more} more row{'s' if more > 1 else ''} like it.)" if more else "")
    )


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
    """Insert or update every row by (program, email), with its answers to the questions
    whose columns the file has; returns (created, updated).

    Must run inside a transaction. A fixed number of queries whatever the
    number of rows: on PostgreSQL COPYs into temporary tables and a few
    set-based statements from them (apply_pg.py); elsewhere batched bulk_create
    upserts and programs.questions.answers_replace_many.
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
    by_key = {q.key: q for q in questions_of(program)}
    questions = [by_key[key] for key in parsed.answer_keys]
    upsert = participants_copy_upsert if is_postgresql() else _participants_bulk_upsert
    upsert(
        program=program,
        rows=rows,
        capacities=capacities,
        update_fields=update_fields,
        questions=questions,
    )
    updated = sum(1 for row in rows if row["email"] in known)
    return len(rows) - updated, updated


def _participants_bulk_upsert(
    *,
    program: Program,
    rows: list[dict],
    capacities: list[int],
    update_fields: list[str],
    questions: Sequence[Question] = (),
) -> None:
    """The portable way: batched bulk_create upserts, then answers_replace_many for the
    answers (apply_pg.py is PostgreSQL's)."""
    Participant.objects.bulk_create(
        [
            Participant(
                program=program,
                source=Participant.Source.IMPORT,
                **{f: row[f] for f in RECORD_COLUMNS if f in row and f != "capacity"},
                capacity=capacity,
            )
            for row, capacity in zip(rows, capacities, strict=True)
        ],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["program", "email"],
        update_fields=update_fields,
    )
    if not questions:
        return
    ids = _ids_by_email(program, [row["email"] for row in rows])
    answers_replace_many(
        program=program,
        raw={ids[row["email"]]: {q.key: row.get(q.key) for q in questions} for row in rows},
    )


def _ids_by_email(program: Program, emails: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(emails), 10_000):  # SQLite caps the parameters of a statement
        chunk = emails[start : start + 10_000]
        people = Participant.objects.filter(program=program, email__in=chunk)
        found.update(people.values_list("email", "pk"))
    return found


def import_discard(*, participant_import: ParticipantImport) -> bool:
    """Drop a file waiting for confirmation; False if it was no longer waiting."""
    return bool(
        ParticipantImport.objects.filter(
            pk=participant_import.pk, status=ParticipantImport.Status.PREVIEW
        ).update(status=ParticipantImport.Status.DISCARDED, content="")
    )
