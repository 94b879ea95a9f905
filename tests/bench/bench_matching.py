"""Benchmark: the match score in bulk (pairing.matching), on seed_demo's synthetic people.

    .venv/bin/python tests/bench/run.py bench_matching
    (or directly: .venv/bin/python tests/bench/bench_matching.py)

People answer the default questions (skills, interests, goals as options;
department and location on the record), scored with the default rules
(tests/bench/people.py builds both in memory). Prints, for the default rules
and for a must-match location:
- ranking 5,000 mentors for one mentee (the preference form), as dicts and
  as Participant instances: median and worst of 25 mentees;
- the full score matrix of 10,000 mentees x 2,500 mentors;
- top-50 candidates per mentee (auto-pair's input) at 10,000 x 2,500 and
  50,000 x 12,500.
Each bulk figure runs twice: once for time with tracemalloc off, once under
tracemalloc for the peak memory Python and numpy allocate (numpy reports its
buffers to tracemalloc). Everything happens in memory; no database rows.
"""

import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    import django

    django.setup()


def _people(mentees: int, mentors: int, seed: int = 2027) -> tuple[list[dict], list[dict]]:
    from programs.management.commands.seed_demo import generate_people

    people = generate_people(mentees=mentees, mentors=mentors, seed=seed)
    for n, person in enumerate(people, start=1):
        person["id"] = n
    return people[:mentees], people[mentees:]


def _measure(fn: Callable[[], object]) -> tuple[str, float, object]:
    """("wall s (CPU s)" untraced, peak MB traced, result of the traced run).

    CPU time is printed too: on a shared machine wall time says more about
    the neighbours than about this code.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    del result
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return f"{wall:.2f} s wall ({cpu:.2f} s CPU)", peak, result


def _rank(mentees, mentors, scheme, label: str) -> None:
    from pairing.matching import rank_mentors_for

    times, cpu_times = [], []
    for mentee in mentees[:25]:
        wall, cpu = time.perf_counter(), time.process_time()
        ranked = rank_mentors_for(mentee, mentors, scheme)
        times.append((time.perf_counter() - wall) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
    print(
        f"  rank {len(mentors):,} mentors for one mentee ({label}): "
        f"median {statistics.median(times):.1f} ms wall "
        f"({statistics.median(cpu_times):.1f} ms CPU), worst {max(times):.1f} ms wall, "
        f"{len(ranked):,} offered, top score {ranked[0].percent if ranked else '-'}"
    )


def main() -> None:
    _setup_django()
    from pairing.matching import score_matrix, top_candidates
    from programs.match_weights import rule_title, weight_label
    from programs.models import Participant
    from tests.bench.people import default_scheme, record

    started = time.perf_counter()
    small_mentees, small_mentors = _people(10_000, 2_500)
    big_mentees, big_mentors = _people(50_000, 12_500)
    # One set of questions and options for everybody (people answer with option ids).
    scheme = default_scheme(small_mentees + small_mentors + big_mentees + big_mentors)
    print(f"synthetic people generated in {time.perf_counter() - started:.1f} s")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    rank_mentors = big_mentors[:5_000]
    instances = []
    for m in rank_mentors:
        person = Participant(pk=m["id"], **record(m))
        person.__dict__["answer_values"] = m["answers"]  # as prime_answers leaves them
        instances.append(person)
    location = next(r.id for r in scheme.rules if r.mentor.key == "location")
    schemes = {
        "default rules": scheme,
        "location must match": scheme.with_weights({location: 10}),
    }
    for label, rules in schemes.items():
        listed = "; ".join(f"{rule_title(r)} {weight_label(r.weight)}" for r in rules.rules)
        print(f"\n-- {label}: {listed}")
        _rank(small_mentees, rank_mentors, rules, "dicts")
        _rank(small_mentees, instances, rules, "Participant instances")

        seconds, peak, matrix = _measure(
            lambda w=rules: score_matrix(small_mentees, small_mentors, w)
        )
        eligible = int(matrix.eligible.sum())
        print(
            f"  full matrix 10,000 x 2,500: {seconds}, peak {peak:,.0f} MB, "
            f"{eligible:,} eligible pairs, mean score {matrix.scores[matrix.eligible].mean():.1f}"
        )
        del matrix

        for name, mentees, mentors in (
            ("10,000 x 2,500", small_mentees, small_mentors),
            ("50,000 x 12,500", big_mentees, big_mentors),
        ):
            seconds, peak, found = _measure(
                lambda a=mentees, b=mentors, w=rules: top_candidates(a, b, w, k=50)
            )
            empty = int((found.offsets[1:] == found.offsets[:-1]).sum())
            print(
                f"  top-50 candidates {name}: {seconds}, peak {peak:,.0f} MB, "
                f"{len(found.mentor):,} edges, {empty:,} mentees without a candidate, "
                f"mean best score {found.score[found.offsets[:-1][found.offsets[1:] > found.offsets[:-1]]].mean():.1f}"
            )
            del found


if __name__ == "__main__":
    main()
