"""The preference form's mentors: thousands of them ranked for one mentee, fast (one query).

A pool per program (each mentor's normalised values, an index from value to mentors, the
name order) is kept in this process while its version holds (pairing.preference_pg, on
PostgreSQL; elsewhere it is built each time). Only mentors sharing a value with the mentee
in a field that counts are scored; the rest score 0 and follow in name order, where
matching.rank_mentors_for puts them. Per mentee, in the same statement: who is blocked for
them, and their own auto-pair proposal (a staged run's held seats go only to its mentees).
"""

import gc
import json
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from pairing import matching, preference_pg
from pairing.matching import Match
from pairing.models import MentorRequest, Pairing, PendingRequest
from pairing.request_selectors import do_not_pair_again, mentors_with_room_for_some, own_proposals
from pairing_admin.lib.db import is_postgresql
from pairing_admin.lib.params import row_id
from programs.match_weights import IGNORED, MUST_MATCH, Scheme, scheme_of
from programs.models import Participant, Program, Question, fold_answers
from programs.questions import answers_of, described, questions_of

# What the form ranks, searches and filters by (bios are read for the cards shown).
FIELDS = ("id", "first_name", "last_name", "title", "department", "location")
_POOLS_MAX = 16
CHOICE_KINDS = (Question.Kind.SINGLE, Question.Kind.MULTIPLE)
# {program id: (version digest, questions_version, pool)}
_pools: "OrderedDict[int, tuple[str, int, MentorPool]]" = OrderedDict()
_pools_lock = threading.Lock()


@dataclass
class MentorPool:
    """A program's mentors with room (for some mentee), prepared for ranking against any mentee."""

    mentors: list[dict]  # id order; the page reads these, nobody writes them
    proposed_only: np.ndarray  # bool per mentor: room only for mentees proposed for them
    name_rank: np.ndarray  # each mentor's place in the name order
    index: list[dict[str, np.ndarray]]  # per rule: {normalised value: mentor positions}
    position: dict[int, int]  # mentor id -> position
    profiles: list[tuple]  # matching.mentor_profile of each mentor
    scheme: Scheme = field(repr=False)
    _haystacks: list[str] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, mentors: list[dict], scheme: Scheme, questions=()) -> "MentorPool":
        """`mentors`: rows of FIELDS, open_to_all, free, and their answers (a list of
        ANSWER_COLUMNS rows without the participant, from the pool's statement; read
        here when missing). `questions`: those the mentors' cards show answers to."""
        proposed_only = np.asarray([not m.pop("open_to_all", True) for m in mentors], dtype=bool)
        if mentors and "answers" not in mentors[0]:
            found = answers_of(m["id"] for m in mentors)
        else:
            # As the statement sends them (rows), or already folded ({question: value}).
            found = {m["id"]: m["answers"] for m in mentors if isinstance(m["answers"], dict)}
            rows = [m for m in mentors if not isinstance(m["answers"], dict)]
            found |= fold_answers(((m["id"], *a) for m in rows for a in m["answers"] or ()), {})
        shown = [q for q in questions if not q.profile_field]
        for mentor in mentors:
            mentor["pk"] = mentor["id"]
            mentor["full_name"] = f"{mentor['first_name']} {mentor['last_name']}".strip()
            mentor["answers"] = found.get(mentor["id"], {})
            # What the mentor's card says about them (department and location have their own line).
            mentor["described"] = described(shown, mentor, mentor["answers"])
        profiles = [matching.mentor_profile(m, scheme) for m in mentors]
        positions: list[dict[str, list[int]]] = [{} for _ in scheme.rules]
        for j, profile in enumerate(profiles):
            for i, values in enumerate(profile):
                if isinstance(values, dict):
                    for value in values:
                        positions[i].setdefault(value, []).append(j)
        index = [
            {value: np.asarray(js, dtype=np.int64) for value, js in by_value.items()}
            for by_value in positions
        ]
        position = {m["pk"]: j for j, m in enumerate(mentors)}
        # The name order: how matching breaks ties between equal scores.
        order = sorted(range(len(mentors)), key=lambda j: matching.name_key(mentors[j]))
        name_rank = np.empty(len(mentors), dtype=np.int64)
        name_rank[np.asarray(order, dtype=np.int64)] = np.arange(len(mentors))
        return cls(
            mentors=mentors,
            proposed_only=proposed_only,
            name_rank=name_rank,
            index=index,
            position=position,
            profiles=profiles,
            scheme=scheme,
        )

    def _ranked(self, mentee, positions: list[int]) -> list[Match]:
        """matching.rank_mentors_for over the mentors at `positions`, their profiles and
        name order taken from the pool."""
        return matching.rank_mentors_for(
            mentee,
            [self.mentors[j] for j in positions],
            self.scheme,
            profiles=[self.profiles[j] for j in positions],
            name_ranks=self.name_rank[positions].tolist() if positions else [],
        )

    def haystack(self, mentor: dict) -> str:
        """What the search box looks through for one mentor (built on first search)."""
        if self._haystacks is None:
            self._haystacks = [
                " ".join(
                    [
                        m["first_name"],
                        m["last_name"],
                        m["title"],
                        m["department"],
                        m["location"],
                        *(text for _, text in m["described"]),
                    ]
                ).casefold()
                for m in self.mentors
            ]
        return self._haystacks[self.position[mentor["pk"]]]

    def _sharing(self, profile: tuple, i: int) -> np.ndarray:
        """Positions of the mentors sharing at least one value of field i with the mentee."""
        hits = [self.index[i][value] for value in profile[i] or () if value in self.index[i]]
        if not hits:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(hits))

    def hidden_from(self, *, proposed: Collection[int], blocked: Collection[int]) -> np.ndarray:
        """Which mentors (a bool per position) one mentee may not choose.

        proposed: mentors of the mentee's own staged proposals (held for them);
        blocked: mentors they must not be paired with again.
        """
        hidden = self.proposed_only.copy()
        for mentor_id in proposed:
            if mentor_id in self.position:
                hidden[self.position[mentor_id]] = False
        for mentor_id in blocked:
            if mentor_id in self.position:
                hidden[self.position[mentor_id]] = True
        return hidden

    def rank(self, mentee, *, hidden: np.ndarray | None = None) -> list[Match]:
        """What matching.rank_mentors_for(mentee, self.mentors, self.scheme) returns, cheaper.

        hidden (from hidden_from): mentors left out, as if not in the pool.
        """
        rules = self.scheme.rules
        profile = matching.mentee_profile(mentee, self.scheme)
        everyone = np.arange(len(self.mentors), dtype=np.int64)
        must = [i for i, r in enumerate(rules) if r.weight == MUST_MATCH]
        if must:
            eligible = everyone
            for i in must:
                if not rules[i].numeric:
                    eligible = np.intersect1d(eligible, self._sharing(profile, i))
            if hidden is not None:
                eligible = eligible[~hidden[eligible]]
            return self._ranked(mentee, eligible.tolist())
        counted = [i for i, r in enumerate(rules) if r.weight != IGNORED]
        if any(rules[i].numeric for i in counted):
            # A number can score against any mentor: no index narrows them down.
            scored = everyone
        else:
            found = [self._sharing(profile, i) for i in counted]
            scored = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
        if hidden is not None:
            scored = scored[~hidden[scored]]
        ranked = self._ranked(mentee, scored.tolist())
        cut = next((n for n, match in enumerate(ranked) if not match.score), len(ranked))
        # Score 0: the scored mentors who still got nothing, and everyone not scored.
        rest = np.ones(len(self.mentors), dtype=bool) if hidden is None else ~hidden
        rest[scored] = False
        zero = np.concatenate(
            [[self.position[m.mentor["pk"]] for m in ranked[cut:]], np.flatnonzero(rest)]
        ).astype(np.int64)
        zero = zero[np.argsort(self.name_rank[zero], kind="stable")]
        return ranked[:cut] + [Match(self.mentors[j], 0.0, (), None) for j in zero.tolist()]


@dataclass(frozen=True)
class _ForMentee:
    """What is per mentee, read with the pool: mentor ids."""

    proposed: frozenset[int] = frozenset()
    blocked: frozenset[int] = frozenset()


def _said_no_sources(mentee_id: int):
    """Mentors not offered again (request_selectors.said_no): who declined, whose pairing ended."""
    declined = MentorRequest.objects.filter(
        mentee_id=mentee_id, status=MentorRequest.Status.DECLINED
    )
    ended = Pairing.objects.filter(mentee_id=mentee_id, status=Pairing.Status.ENDED)
    return declined, ended


def _per_mentee(mentee_id: int) -> tuple[QuerySet, ...]:
    """The mentee's own proposals, then who is blocked for them (do not pair again,
    declined them, pairing ended): each a query of mentor ids."""
    return (own_proposals(mentee_id), do_not_pair_again(mentee_id), *_said_no_sources(mentee_id))


def _rows_orm(program: Program, mentee_id: int | None = None) -> tuple[list[dict], _ForMentee]:
    qs = mentors_with_room_for_some(program).order_by("pk")
    if mentee_id is None:
        return list(qs.values(*FIELDS, "open_to_all")), _ForMentee()
    declined, ended = _said_no_sources(mentee_id)
    rows = list(
        qs.values(
            *FIELDS,
            "open_to_all",
            proposed=Exists(own_proposals(mentee_id).filter(mentor=OuterRef("pk"))),
            blocked=Exists(do_not_pair_again(mentee_id).filter(mentor=OuterRef("pk")))
            | Exists(declined.filter(mentor=OuterRef("pk")))
            | Exists(ended.filter(mentor=OuterRef("pk"))),
        )
    )
    proposed = frozenset(row["id"] for row in rows if row.pop("proposed"))
    blocked = frozenset(row["id"] for row in rows if row.pop("blocked"))
    return rows, _ForMentee(proposed, blocked)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a pool is built.

    Building one for 5,000 mentors makes some 40,000 containers that all
    outlive it; the collector would otherwise run a full pass over the
    whole process in the middle (measured: most of the 100 ms it added to
    the first view after a mentor changed). Reference counting still frees
    everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pool_for(
    program: Program, mentee_id: int | None, *, use_sql: bool | None
) -> tuple["MentorPool", _ForMentee, dict[int, tuple[int, int]] | None]:
    """The pool, what is the mentee's own, and (on PostgreSQL, read in the same
    statement) `waiting_for`'s answer for the pool's mentors; None elsewhere."""
    if use_sql is None:
        use_sql = is_postgresql()
    scheme = scheme_of(program)
    if not use_sql:
        rows, mine = _rows_orm(program, mentee_id)
        return MentorPool.build(rows, scheme, _card_questions(program)), mine, None
    with _pools_lock:
        held = _pools.get(program.pk)
    # A pool prepared under other questions or rules is rebuilt.
    known = held[0] if held and held[1] == program.questions_version else ""
    per_mentee = () if mentee_id is None else _per_mentee(mentee_id)
    version, text, arrays, waiting = preference_pg.fetch(program, known, FIELDS, per_mentee)
    mine = (
        _ForMentee(frozenset(arrays[0]), frozenset().union(*arrays[1:])) if arrays else _ForMentee()
    )
    if text is None:
        pool = held[2]
    else:
        row_fields = (*FIELDS, "open_to_all", "free", "answers")
        with _collector_paused():
            rows = [dict(zip(row_fields, row, strict=True)) for row in json.loads(text)]
            pool = MentorPool.build(rows, scheme, _card_questions(program))
        with _pools_lock:
            _pools[program.pk] = (version, program.questions_version, pool)
            _pools.move_to_end(program.pk)
            while len(_pools) > _POOLS_MAX:
                _pools.popitem(last=False)
    free = {
        mentor_id: (n, pool.mentors[pool.position[mentor_id]]["free"])
        for mentor_id, n in waiting.items()
        if mentor_id in pool.position
    }
    return pool, mine, free


def _card_questions(program: Program) -> list:
    return questions_of(program, role=Participant.Role.MENTOR)


def mentor_pool(program: Program, *, use_sql: bool | None = None) -> MentorPool:
    """The program's mentors with room (for some mentee at least), prepared (one query).

    On PostgreSQL the pool is kept per program in this process and reused
    while the mentors' version is unchanged; elsewhere it is built each time.
    """
    return _pool_for(program, None, use_sql=use_sql)[0]


@dataclass(frozen=True)
class ChoiceFilter:
    """The form's filter on mentors' answers to one choice question a match rule reads
    ("Skills"): the options some mentor in the list picked, in the question's order."""

    question_id: int
    key: str
    label: str
    options: list[tuple[int, str]]  # (option id, label)


@dataclass(frozen=True)
class MentorOptions:
    pool: MentorPool
    matches: list[Match]  # best match first
    # {mentor id: (requests waiting for them, seats free)}, as waiting_for
    waiting: dict[int, tuple[int, int]]

    @property
    def departments(self) -> list[str]:
        """The filter's departments: only those of mentors this mentee may choose."""
        return sorted({m.mentor["department"] for m in self.matches} - {""})

    @property
    def locations(self) -> list[str]:
        return sorted({m.mentor["location"] for m in self.matches} - {""})

    def choice_filters(self) -> list[ChoiceFilter]:
        """A filter per mentor choice question the program's match rules read, each
        listing only the options picked by a mentor this mentee may choose (none:
        no filter). Read from the pool's answers: no query."""
        questions = {
            rule.mentor.id: rule.mentor
            for rule in self.pool.scheme.rules
            if rule.mentor.kind in CHOICE_KINDS and not rule.mentor.profile_field
        }
        picked: dict[int, set[int]] = {qid: set() for qid in questions}
        for match in self.matches:
            answers = match.mentor["answers"]
            for qid, options in picked.items():
                options.update(answers.get(qid, ()))
        found = []
        for qid, spec in questions.items():
            options = [(o, label) for o, label in spec.options.items() if o in picked[qid]]
            if options:
                found.append(ChoiceFilter(qid, spec.key, str(spec.label), options))
        return found


def filters_chosen(filters: Sequence[ChoiceFilter], source: Mapping[str, str]) -> dict[int, int]:
    """{question id: option id} the mentee chose in the filters (`q_<key>=<option id>`);
    an option the filter does not list (not a number, no mentor's) is no filter."""
    chosen = {}
    for f in filters:
        option = row_id(source.get(f"q_{f.key}"))
        if option is not None and any(option == o for o, _ in f.options):
            chosen[f.question_id] = option
    return chosen


def passes(mentor: dict, chosen: Mapping[int, int]) -> bool:
    """Whether the mentor (a pool row) picked every option chosen in the filters."""
    answers = mentor["answers"]
    return all(option in answers.get(qid, ()) for qid, option in chosen.items())


def mentor_options(
    mentee: Participant, program: Program, *, use_sql: bool | None = None
) -> MentorOptions:
    """The mentors this mentee may choose, best match first, with reasons, and the requests
    waiting for them (one query on PostgreSQL, two elsewhere).

    Left out: mentors an admin said never to pair with this mentee again, who
    declined them or whose pairing with them ended, and mentors whose last
    seats a staged auto-pair run holds for other mentees.
    """
    pool, mine, waiting = _pool_for(program, mentee.pk, use_sql=use_sql)
    hidden = None
    if mine.blocked or pool.proposed_only.any():
        hidden = pool.hidden_from(proposed=mine.proposed, blocked=mine.blocked)
    return MentorOptions(
        pool=pool,
        matches=pool.rank(mentee, hidden=hidden),
        waiting=waiting_for(program) if waiting is None else waiting,
    )


def waiting_for(program: Program) -> dict[int, tuple[int, int]]:
    """{mentor id: (requests waiting for them, seats free)} for mentors with a request
    waiting (one query). Seats free: capacity minus active pairings. On PostgreSQL
    mentor_options reads the same for the pool's mentors with the pool instead."""
    active = (
        Pairing.objects.filter(mentor=OuterRef("mentor_id"))
        .active()
        .order_by()
        .values("mentor")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        PendingRequest.objects.filter(program=program)
        .order_by()
        .values("mentor_id")
        .annotate(
            waiting=Count("pk"),
            free=F("mentor__capacity") - Coalesce(Subquery(active, output_field=IntegerField()), 0),
        )
        .values_list("mentor_id", "waiting", "free")
    )
    return {mentor_id: (waiting, free) for mentor_id, waiting, free in rows}


def bios(mentor_ids: Sequence[int]) -> dict[int, str]:
    """The bios of the mentors whose cards are shown (one query)."""
    if not mentor_ids:
        return {}
    return dict(Participant.objects.filter(pk__in=mentor_ids).values_list("pk", "bio"))
