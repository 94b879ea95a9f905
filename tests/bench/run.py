"""`make bench`: every benchmark in tests/bench/, against PostgreSQL, printing figures.

BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pairing_bench)
names a scratch database; it is created and migrated if missing. Benchmarks
never assert on time: they print what they measured.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pairing_bench")


def main() -> int:
    os.environ["DATABASE_URL"] = URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairing_admin.settings")
    sys.path.insert(0, str(ROOT))
    name = URL.rsplit("/", 1)[-1]
    host_part = URL.split("://", 1)[1].rsplit("/", 1)[0]
    user, _, hostport = host_part.rpartition("@")
    host, _, port = hostport.partition(":")
    subprocess.run(
        ["createdb", "-h", host, "-p", port or "5432", "-U", user or "postgres", name],
        capture_output=True, check=False,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    scripts = sorted(HERE.glob("bench_*.py"))
    only = set(sys.argv[1:])
    for path in scripts:
        if only and path.stem not in only:
            continue
        print(f"\n== {path.stem}", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
