"""The match score between a mentee and a mentor, 0-100, shared by the preference form and auto-pair.

A program's rules (programs.match_weights.Scheme) each compare one mentee question with one
mentor question. Per rule weighted 1-9: an overlap of choices is |shared| / max(|mentee's
picks|, floor), a same value, numbers within a distance or a level above count 1 or 0, and
the score is 100 * sum(weight * measure) / sum(weight); a rule weighted 10 must hold or the
pair is no candidate. Texts compare case-insensitively, whitespace collapsed. Why this
measure, the reasons shown, bulk scoring: docs/matching.md. People are Participant objects
or mappings with the same keys plus "answers" (programs.questions), so auto-pair scores
50,000 without model instances.
"""

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext
from scipy import sparse

from programs.match_weights import IGNORED, MUST_MATCH, Measure, RuleSpec, Scheme

# Above this many cells the mentor side stays sparse instead of dense (float32 bytes / 4).
_DENSE_MENTOR_CELLS = 16_000_000
# Scores computed per block of mentees, about this many cells at a time.
_BLOCK_CELLS = 8_000_000
# Integer scores (top_candidates) are int16 numerators; -1 marks an excluded pair.
_INT_LIMIT = 32_000

Person = Any  # a Participant or a mapping with the same keys and "answers"


def normalise(value: object) -> str:
    """How values are compared: case-insensitive, whitespace collapsed."""
    return " ".join(str(value).split()).casefold()


def _get(person: Person, name: str, default: Any = None) -> Any:
    if type(person) is dict or isinstance(person, Mapping):
        return person.get(name, default)
    return getattr(person, name, default)


# The same few hundred labels recur across thousands of profiles: remember how
# each raw string normalises ({raw: (normalised, display)}, blank -> None).
_SPELLINGS: dict[str, tuple[str, str] | None] = {}
_SPELLINGS_MAX = 200_000


def _spelling(value: object) -> tuple[str, str] | None:
    try:
        return _SPELLINGS[value]
    except (KeyError, TypeError):
        pass
    display = " ".join(str(value).split())
    found = (display.casefold(), display) if display else None
    if isinstance(value, str):
        if len(_SPELLINGS) >= _SPELLINGS_MAX:
            _SPELLINGS.clear()
        _SPELLINGS[value] = found
    return found


def _one(value: object) -> dict[str, str]:
    found = _spelling(value) if value not in (None, "") else None
    return {found[0]: found[1]} if found else {}


def _answers(person: Person) -> Mapping:
    if type(person) is dict or isinstance(person, Mapping):
        return person.get("answers") or {}
    return person.answer_values


def _raw(person: Person, question, answers: Mapping):
    if question.profile_field:
        return _get(person, question.profile_field) or None
    return answers.get(question.id)


# One person's side of every rule, in rule order: {normalised: display} for the
# rules comparing values, (number, display) or None for the numeric ones.
Profile = tuple


def _side(rule: RuleSpec, question, person: Person, answers: Mapping):
    value = _raw(person, question, answers)
    if rule.numeric:
        if value is None:
            return None
        if question.options:  # a level: the option's place in the list
            level = question.levels.get(value[0]) if value else None
            label = " ".join(question.options[value[0]].split()) if level is not None else ""
            return None if level is None else (float(level), label)
        return (float(value), str(value))
    if value is None:
        return {}
    if question.options or isinstance(value, tuple):
        labels = question.options
        out: dict[str, str] = {}
        for option in value:
            label = labels.get(option)
            found = _SPELLINGS.get(label, False) if type(label) is str else None
            if found is False:
                found = _spelling(label)
            if found is not None and found[0] not in out:
                out[found[0]] = found[1]
        return out
    return _one(value)


def mentee_profile(person: Person, scheme: Scheme) -> Profile:
    """The mentee's side of each rule."""
    answers = _answers(person)
    return tuple(_side(r, r.mentee, person, answers) for r in scheme.rules)


def mentor_profile(person: Person, scheme: Scheme) -> Profile:
    """The mentor's side of each rule."""
    answers = _answers(person)
    return tuple(_side(r, r.mentor, person, answers) for r in scheme.rules)


def _weights(scheme: Scheme) -> list[int]:
    out = []
    for rule in scheme.rules:
        w = int(rule.weight)
        if not IGNORED <= w <= MUST_MATCH:
            raise ValueError(f"Weight of {rule.label} must be 0-10, not {w}")
        out.append(w)
    return out


def _hit(rule: RuleSpec, mentee: float, mentor: float) -> bool:
    if rule.measure == Measure.WITHIN:
        return abs(mentor - mentee) <= rule.distance
    return mentor > mentee


def _reason_fields(mentee: Profile, scheme: Scheme) -> list[tuple[RuleSpec, int, Any]]:
    """(rule, rule index, mentee's side) of the rules that can give a reason."""
    return [
        (rule, i, mentee[i])
        for i, rule in enumerate(scheme.rules)
        if rule.weight != IGNORED and mentee[i]
    ]


def _reasons_from(
    fields: list[tuple[RuleSpec, int, Any]], mentor: Profile, line: str | None = None
) -> list[str]:
    """`line`: the reason's wording, gettext("%(field)s: %(shared)s") (a caller explaining
    thousands of pairs looks it up once)."""
    reasons = []
    for rule, i, wanted in fields:
        offered = mentor[i]
        if not offered:
            continue
        if rule.numeric:
            if not _hit(rule, wanted[0], offered[0]):
                continue
            shared = offered[1]
        else:
            # The mentor's spelling, in the mentor's order.
            shared = ", ".join(display for norm, display in offered.items() if norm in wanted)
        if shared:
            # Shown to mentees in their program's language (French puts a space before ":").
            if line is None:
                line = gettext("%(field)s: %(shared)s")
            reasons.append(line % {"field": rule.label, "shared": shared})
    return reasons


def _reasons(mentee: Profile, mentor: Profile, scheme: Scheme) -> list[str]:
    return _reasons_from(_reason_fields(mentee, scheme), mentor)


def explain(mentee: Person, mentor: Person, scheme: Scheme) -> list[str]:
    """Why they match: one line per rule that scored (or passed a must-match)."""
    return _reasons(mentee_profile(mentee, scheme), mentor_profile(mentor, scheme), scheme)


def percent(score: float) -> int:
    """A score as shown to people: a whole number, halves rounded up."""
    return int(np.floor(score + 0.5))


def _vocabulary(mentees: Sequence[Profile], mentors: Sequence[Profile], i: int) -> set[str]:
    """Rule i's tokens on the side with fewer people.

    Tokens only the other side uses never become columns (lookups skip them);
    tokens only this side uses make empty columns, which cost nothing in the
    product. One mentee against 5,000 mentors: about ten columns.
    """
    side = mentees if len(mentees) <= len(mentors) else mentors
    return set().union(*(p[i] for p in side))


def _numbers(profiles: Sequence[Profile], i: int) -> np.ndarray:
    """Rule i's numbers (NaN where blank): NaN compares false, so blanks never hit."""
    return np.fromiter(
        (np.nan if p[i] is None else p[i][0] for p in profiles),
        dtype=np.float64,
        count=len(profiles),
    )


class _Encoding:
    """The matrices behind a score block; built once per call.

    Rules comparing values are sparse token products; numeric rules (within a
    distance, level above) are compared in blocks by broadcasting.
    """

    def __init__(
        self,
        mentees: Sequence[Profile],
        mentors: Sequence[Profile],
        scheme: Scheme,
        *,
        integer: bool = False,
    ) -> None:
        rules = scheme.rules
        weights = _weights(scheme)
        self.n_mentees, self.n_mentors = len(mentees), len(mentors)
        scoring = [i for i, w in enumerate(weights) if IGNORED < w < MUST_MATCH]
        total = sum(weights[i] for i in scoring)
        tokens = [i for i in scoring if not rules[i].numeric]
        numeric = [i for i in scoring if rules[i].numeric]
        # Only tokens both sides use can overlap; the rest only count in the
        # mentee's denominator, which is taken from the full profile.
        score_cols: dict[tuple[int, str], int] = {}
        for i in tokens:
            for token in _vocabulary(mentees, mentors, i):
                score_cols[(i, token)] = len(score_cols)
        # Integer mode: block() gives int16 numerators, score = numerator * unit[row].
        self.unit: np.ndarray | None = None
        found = (
            _mentee_side_int(mentees, rules, scoring, score_cols, weights, total)
            if integer
            else None
        )
        if found is not None:
            self.score_a, self.unit, shares = found
            self.score_b = _mentor_side(mentors, tokens, score_cols).astype(np.int16)
        else:
            self.score_a = _mentee_side(mentees, rules, tokens, score_cols, weights, total)
            self.score_b = _mentor_side(mentors, tokens, score_cols)
            shares = {
                i: np.where(np.isnan(_numbers(mentees, i)), 0.0, 100.0 * weights[i] / total)
                for i in numeric
            }
        self.dtype = self.score_a.dtype
        # Per numeric rule: (rule, mentee numbers, mentor numbers, mentee's share).
        self.numeric = [
            (rules[i], _numbers(mentees, i), _numbers(mentors, i), shares[i].astype(self.dtype))
            for i in numeric
        ]
        self.must = []
        self.must_numeric = []
        for i, w in enumerate(weights):
            if w != MUST_MATCH:
                continue
            if rules[i].numeric:
                self.must_numeric.append((rules[i], _numbers(mentees, i), _numbers(mentors, i)))
                continue
            cols = {(i, t): n for n, t in enumerate(_vocabulary(mentees, mentors, i))}
            a = _mentee_side(mentees, rules, [i], cols, None, 0)
            b = _mentor_side(mentors, [i], cols)
            self.must.append((a, b))

    def block(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(scores, eligible bool or None when nothing must match) for mentees start:stop."""
        scores = _product(self.score_a[start:stop], self.score_b, self.dtype)
        for rule, a, b, share in self.numeric:
            hit = _hits(rule, a[start:stop], b)
            scores += hit * share[start:stop, None]
        eligible = None
        for a, b in self.must:
            hit = _product(a[start:stop], b) > 0
            eligible = hit if eligible is None else eligible & hit
        for rule, a, b in self.must_numeric:
            hit = _hits(rule, a[start:stop], b)
            eligible = hit if eligible is None else eligible & hit
        return scores, eligible

    def block_rows(self) -> int:
        return max(1, min(self.n_mentees, _BLOCK_CELLS // max(self.n_mentors, 1)))


def _hits(rule: RuleSpec, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
    """Where a numeric rule holds, mentees (rows) x mentors; blanks (NaN) never."""
    with np.errstate(invalid="ignore"):
        if rule.measure == Measure.WITHIN:
            return np.abs(mentor[None, :] - mentee[:, None]) <= rule.distance
        return mentor[None, :] > mentee[:, None]


def _mentee_side(profiles, rules, fields, cols, weights, total):
    indptr, indices, data = [0], [], []
    for profile in profiles:
        for i in fields:
            values = profile[i]
            if not values:
                continue
            share = (
                100.0 * weights[i] / (total * max(len(values), rules[i].full_at))
                if weights is not None
                else 1.0
            )
            for token in values:
                col = cols.get((i, token))
                if col is not None:
                    indices.append(col)
                    data.append(share)
        indptr.append(len(indices))
    return sparse.csr_matrix(
        (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32), indptr),
        shape=(len(profiles), max(len(cols), 1)),
    )


def _mentee_side_int(profiles, rules, fields, cols, weights, total):
    """The mentee side as exact integers, or None when they would not fit int16.

    A mentee's score is 100 / total * sum(weight * measure) over the rules,
    where an overlap's measure is shared / denominator and the others' 1 or 0.
    With L the least common multiple of this mentee's denominators, every share
    weight * L / denominator is a whole number, so a row of the product holds
    exact numerators (ties are true ties) and unit = 100 / (total * L) turns
    one into points. A numerator is at most total * L: int16 holds it for every
    realistic profile. Returns (token matrix, unit per mentee, {numeric rule:
    share per mentee}).
    """
    if not total:
        return None
    indptr, indices, data = [0], [], []
    unit = np.empty(len(profiles), dtype=np.float64)
    numeric = [i for i in fields if rules[i].numeric]
    shares = {i: np.zeros(len(profiles), dtype=np.int16) for i in numeric}
    for row, profile in enumerate(profiles):
        present = [(i, profile[i]) for i in fields if profile[i]]
        denominators = [
            1 if rules[i].numeric else max(len(values), rules[i].full_at) for i, values in present
        ]
        lcm = math.lcm(*denominators) if denominators else 1
        if total * lcm > _INT_LIMIT:
            return None
        unit[row] = 100.0 / (total * lcm)
        for (i, values), denominator in zip(present, denominators, strict=True):
            share = weights[i] * lcm // denominator
            if rules[i].numeric:
                shares[i][row] = share
                continue
            for token in values:
                col = cols.get((i, token))
                if col is not None:
                    indices.append(col)
                    data.append(share)
        indptr.append(len(indices))
    a = sparse.csr_matrix(
        (np.asarray(data, dtype=np.int16), np.asarray(indices, dtype=np.int32), indptr),
        shape=(len(profiles), max(len(cols), 1)),
    )
    return a, unit, shares


def _mentor_side(profiles, fields, cols):
    """Transposed (tokens x mentors): dense when small enough, else sparse."""
    rows, mentor_ids = [], []
    for j, profile in enumerate(profiles):
        for i in fields:
            for token in profile[i]:
                col = cols.get((i, token))
                if col is not None:
                    rows.append(col)
                    mentor_ids.append(j)
    shape = (max(len(cols), 1), len(profiles))
    if shape[0] * shape[1] <= _DENSE_MENTOR_CELLS:
        dense = np.zeros(shape, dtype=np.float32)
        dense[rows, mentor_ids] = 1.0
        return dense
    return sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, mentor_ids)), shape=shape
    )


def _product(a: sparse.csr_matrix, b, dtype=np.float32) -> np.ndarray:
    out = a @ b
    if sparse.issparse(out):
        out = out.toarray()
    return np.asarray(out, dtype=dtype)


@dataclass
class ScoreMatrix:
    """Scores of every mentee (rows) against every mentor (columns).

    `scores` is float32, 0-100; `eligible` is False where a must-match field
    did not match (those scores are 0 and mean nothing). `reasons(i, j)`
    explains one pair.
    """

    scores: np.ndarray
    eligible: np.ndarray
    mentee_profiles: list[Profile] = field(repr=False)
    mentor_profiles: list[Profile] = field(repr=False)
    scheme: Scheme = field(repr=False)

    def reasons(self, i: int, j: int) -> list[str]:
        return _reasons(self.mentee_profiles[i], self.mentor_profiles[j], self.scheme)


def score_matrix(
    mentees: Sequence[Person], mentors: Sequence[Person], scheme: Scheme
) -> ScoreMatrix:
    """The full mentees x mentors matrix (fine to about 25 million pairs; beyond, use top_candidates)."""
    mentee_profiles = [mentee_profile(p, scheme) for p in mentees]
    mentor_profiles = [mentor_profile(p, scheme) for p in mentors]
    enc = _Encoding(mentee_profiles, mentor_profiles, scheme)
    scores = np.zeros((len(mentees), len(mentors)), dtype=np.float32)
    eligible = np.ones((len(mentees), len(mentors)), dtype=bool)
    step = enc.block_rows()
    for start in range(0, len(mentees), step):
        stop = min(start + step, len(mentees))
        block, ok = enc.block(start, stop)
        if ok is not None:
            block[~ok] = 0.0
            eligible[start:stop] = ok
        scores[start:stop] = block
    return ScoreMatrix(scores, eligible, mentee_profiles, mentor_profiles, scheme)


def score_pair(mentee: Person, mentor: Person, scheme: Scheme) -> float | None:
    """One pair's score, or None when a must-match rule rules the pair out."""
    matrix = score_matrix([mentee], [mentor], scheme)
    return float(matrix.scores[0, 0]) if matrix.eligible[0, 0] else None


class Match:
    """One mentor offered to a mentee: `mentor, score, reasons = match` works too.

    Reasons are worked out when first read, so a page that shows 20 of 5,000
    ranked mentors explains only those 20.
    """

    __slots__ = ("_fields", "_profile", "_reasons", "mentor", "score")

    def __init__(self, mentor: Person, score: float, fields, profile: Profile | None) -> None:
        self.mentor, self.score = mentor, score
        self._fields, self._profile, self._reasons = fields, profile, None

    @property
    def reasons(self) -> list[str]:
        if self._reasons is None:
            self._reasons = (
                [] if self._profile is None else _reasons_from(self._fields, self._profile)
            )
        return self._reasons

    @property
    def percent(self) -> int:
        return percent(self.score)

    def __iter__(self):
        return iter((self.mentor, self.score, self.reasons))

    def __repr__(self) -> str:
        return f"Match({self.mentor!r}, {self.score:.3f})"


def name_key(person: Person) -> tuple[str, int]:
    """How mentors with equal scores are ordered: by name, then id."""
    name = f"{_get(person, 'first_name', '') or ''} {_get(person, 'last_name', '') or ''}"
    pk = _get(person, "pk", None)
    if pk is None:
        pk = _get(person, "id", 0)
    return name.strip().casefold(), pk or 0


def rank_mentors_for(
    mentee: Person,
    mentors: Sequence[Person],
    scheme: Scheme,
    *,
    profiles: Sequence[Profile] | None = None,
    name_ranks: Sequence[int] | None = None,
) -> list[Match]:
    """The mentors a mentee may choose from, best match first, ties by name.

    Mentors failing a must-match field are left out. Choosing who is
    available (capacity, accepting requests) is the caller's job. A caller
    that keeps its mentors prepared passes their `profiles` (mentor_profile
    of each) and `name_ranks` (each one's place in name_key order) instead
    of having them worked out again.
    """
    profile = mentee_profile(mentee, scheme)
    mentor_profiles = (
        profiles if profiles is not None else [mentor_profile(m, scheme) for m in mentors]
    )
    scores, eligible = _Encoding([profile], mentor_profiles, scheme).block(0, 1)
    # Rounded so that scores equal on paper but not in float32 tie, and go by name.
    row = np.round(scores[0].astype(np.float64), 3).tolist()
    keep = range(len(mentors)) if eligible is None else np.flatnonzero(eligible[0]).tolist()
    if name_ranks is None:
        order = sorted(keep, key=lambda j: (-row[j], *name_key(mentors[j])))
    else:
        order = sorted(keep, key=lambda j: (-row[j], name_ranks[j]))
    fields = _reason_fields(profile, scheme)
    # Without a must-match rule, a score of 0 means nothing matched: no reasons.
    some_must = scheme.has_must_match
    return [
        Match(mentors[j], row[j], fields, mentor_profiles[j] if row[j] or some_must else None)
        for j in order
    ]


@dataclass
class Candidates:
    """The best mentors of every mentee, for the auto-pair solver.

    Mentee i's candidates are `mentor[offsets[i]:offsets[i + 1]]` with their
    `score`, best first (ties: lower mentor index first). Only eligible pairs
    appear; a mentee with no candidate has an empty slice.
    """

    offsets: np.ndarray  # int64, len = mentees + 1
    mentor: np.ndarray  # int32 mentor indexes
    score: np.ndarray  # float32
    mentee_profiles: list[Profile] = field(repr=False)
    mentor_profiles: list[Profile] = field(repr=False)
    scheme: Scheme = field(repr=False)
    # Points per score numerator, per mentee: every score of mentee i is a whole
    # multiple of unit[i] (None when the profiles were too irregular for int16).
    unit: np.ndarray | None = field(default=None, repr=False)

    @property
    def mentee(self) -> np.ndarray:
        """The mentee index of every candidate edge (int32, aligned with `mentor`)."""
        counts = np.diff(self.offsets)
        return np.repeat(np.arange(len(counts), dtype=np.int32), counts)

    def reasons(self, i: int, j: int) -> list[str]:
        return _reasons(self.mentee_profiles[i], self.mentor_profiles[j], self.scheme)

    def reasons_many(self, mentees: Iterable[int], mentors: Iterable[int]) -> list[list[str]]:
        """`reasons(i, j)` of many pairs at once (auto-pair explains 50,000 in one go):
        each mentee's side is worked out once, for the mentees asked about only."""
        line = gettext("%(field)s: %(shared)s")
        fields: dict[int, list] = {}
        out = []
        for i, j in zip(mentees, mentors, strict=True):
            mine = fields.get(i)
            if mine is None:
                mine = fields[i] = _reason_fields(self.mentee_profiles[i], self.scheme)
            out.append(_reasons_from(mine, self.mentor_profiles[j], line))
        return out


def top_candidates(
    mentees: Sequence[Person],
    mentors: Sequence[Person],
    scheme: Scheme,
    *,
    k: int = 50,
    exclude: Iterable[tuple[int, int]] = (),
    differ_on: Sequence[str] = (),
) -> Candidates:
    """Each mentee's k best eligible mentors, scored in blocks (memory stays bounded).

    `exclude` holds (mentee index, mentor index) pairs a rule forbids (do not
    pair again, the mentee's manager); `differ_on` names fields of the person's
    record ("department", "location") that must differ when both are filled in.
    Excluded pairs never take a candidate's place.
    """
    mentee_profiles = [mentee_profile(p, scheme) for p in mentees]
    mentor_profiles = [mentor_profile(p, scheme) for p in mentors]
    n, m = len(mentees), len(mentors)
    enc = _Encoding(mentee_profiles, mentor_profiles, scheme, integer=True)
    excluded = -np.inf if enc.unit is None else -1
    ex = np.asarray(list(exclude), dtype=np.int64).reshape(-1, 2)
    ex = ex[np.argsort(ex[:, 0], kind="stable")]
    differ = []
    for key in differ_on:
        differ.append(
            _codes([_one(_get(p, key)) for p in mentees], [_one(_get(p, key)) for p in mentors])
        )
    k = max(0, min(k, m))

    def one_block(start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stop = min(start + step, n)
        scores, ok = enc.block(start, stop)
        lo, hi = np.searchsorted(ex[:, 0], [start, stop])
        if hi > lo or differ:
            ok = np.ones(scores.shape, dtype=bool) if ok is None else ok
            ok[ex[lo:hi, 0] - start, ex[lo:hi, 1]] = False
            for mentee_codes, mentor_codes in differ:
                rows = mentee_codes[start:stop, None]
                ok &= (rows < 0) | (rows != mentor_codes[None, :])
        if ok is not None:
            scores[~ok] = excluded
        rows, cols, values = _best_k(scores, k)
        if enc.unit is not None:
            values = (values * enc.unit[start + rows]).astype(np.float32)
        return np.bincount(rows, minlength=stop - start), cols.astype(np.int32), values

    step = enc.block_rows()
    starts = range(0, n, step) if k else range(0)
    # numpy and scipy release the GIL in the heavy parts: blocks run side by side.
    with ThreadPoolExecutor(max_workers=_workers(len(starts))) as pool:
        parts = list(pool.map(one_block, starts))
    counts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(n, dtype=np.int64)
    mentor_parts = [p[1] for p in parts]
    score_parts = [p[2] for p in parts]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Candidates(
        offsets,
        np.concatenate(mentor_parts) if mentor_parts else np.zeros(0, dtype=np.int32),
        np.concatenate(score_parts) if score_parts else np.zeros(0, dtype=np.float32),
        mentee_profiles,
        mentor_profiles,
        scheme,
        enc.unit,
    )


def _codes(
    mentee_values: list[dict[str, str]], mentor_values: list[dict[str, str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of single values (-1 when empty), shared by both sides."""
    vocab: dict[str, int] = {}

    def code(values: dict[str, str]) -> int:
        if not values:
            return -1
        return vocab.setdefault(next(iter(values)), len(vocab))

    return (
        np.fromiter((code(v) for v in mentee_values), dtype=np.int64, count=len(mentee_values)),
        np.fromiter((code(v) for v in mentor_values), dtype=np.int64, count=len(mentor_values)),
    )


_SAMPLE_COLUMNS = 2048


def _workers(blocks: int) -> int:
    return max(1, min(blocks, os.cpu_count() or 1, 4))


def _best_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's k best finite entries as (rows, cols, values): best first, ties by column.

    A full partition of every row costs more than scoring did, so a threshold
    comes from a sample of the columns first: for most rows, at least k
    entries reach it and only those few are sorted. Rows where the sample
    guessed wrong (fewer than k reach it, or ties flood it) get their exact
    k-th value from a partition. Either way the threshold is at most the row's
    k-th best value, so the result is exact.
    """
    c, n = scores.shape
    integer = scores.dtype == np.int16
    # A threshold that lets every valid entry in: finite floats, integers >= 0.
    lowest = 0 if integer else np.finfo(np.float32).min
    if k >= n:
        threshold = np.full(c, lowest, dtype=scores.dtype)
        mask = scores >= lowest
    else:
        stride = max(1, n // _SAMPLE_COLUMNS)
        sample = scores[:, ::stride]
        # Twice the share of k the sample should hold, plus slack for small samples.
        ks = min(sample.shape[1], 2 * k * sample.shape[1] // n + 8)
        threshold = np.partition(sample, sample.shape[1] - ks, axis=1)[:, sample.shape[1] - ks]
        np.maximum(threshold, lowest, out=threshold)
        mask = scores >= threshold[:, None]
        reached = np.count_nonzero(mask, axis=1)
        redo = np.flatnonzero((reached < k) | (reached > 8 * k + 64))
        if len(redo):
            exact = np.partition(scores[redo], n - k, axis=1)[:, n - k]
            threshold[redo] = np.maximum(exact, lowest)
            mask[redo] = scores[redo] >= threshold[redo, None]
    # Flat indexes: much faster than a 2-D nonzero.
    flat = np.flatnonzero(mask)
    rows, cols = np.divmod(flat, n)
    values = scores.reshape(-1)[flat]
    # Scores are never negative, so their float bits sort like the numbers: one
    # int64 key (row ascending, score descending) and a stable sort, which keeps
    # equal scores in column order. Far faster than a three-key lexsort.
    if integer:
        key = (rows << 16) | (0x7FFF - values.astype(np.int64))
    else:
        key = (rows << 32) | (0x7FFFFFFF - values.view(np.int32)).astype(np.int64)
    order = np.argsort(key, kind="stable")
    rows, cols, values = rows[order], cols[order], values[order]
    # Position of each entry within its row; keep the first k.
    first = np.searchsorted(rows, np.arange(c))
    keep = np.arange(len(rows)) - first[rows] < k
    return rows[keep], cols[keep], values[keep]
