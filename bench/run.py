"""`make bench`: generate realistic data, serve grantpool with gunicorn on loopback, load
each page with wrk, and print requests per second, latency percentiles, each page's ratio
to a minimal route of the same app, and its SQL statements per request.

    python -m bench.run [--database postgresql|sqlite] [--scale full|small] [--seconds 10]
    python -m bench.run --slow-link      # the applicant's pages on an emulated 2G link

Only loopback is ever targeted; every load run stops by itself after --seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench import browser  # noqa: E402
from bench.generate import Generated, Scale, generate  # noqa: E402
from bench.money import STAFF  # noqa: E402
from bench.scenarios import Scenario, SignedIn, scenarios  # noqa: E402
from grantpool.platform import migrations  # noqa: E402
from grantpool.platform.db import create_db_engine, normalise_url  # noqa: E402

SECRET = "bench-secret-key-not-for-production-use-0123456789"


@dataclass
class Result:
    scenario: Scenario
    rps: float
    p50: str
    p90: str
    p99: str
    statements: int | None
    errors: str = ""
    memory: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    admin_url = os.environ.get(
        "GRANTPOOL_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"grantpool_bench_{os.getpid()}"
    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(kind: str, url: str) -> None:
    if kind != "postgresql":
        return
    admin_url = os.environ.get(
        "GRANTPOOL_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


def app_environment(url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "GRANTPOOL_ENV": "production",
            "GRANTPOOL_SECRET_KEY": SECRET,
            "GRANTPOOL_DATABASE_URL": url,
            "GRANTPOOL_STORAGE_URL": (workdir / "uploads").as_uri(),
            "GRANTPOOL_SQL_COUNT_HEADER": "true",
            "GRANTPOOL_RATELIMIT_ENABLED": "false",
            "GRANTPOOL_SESSION_COOKIE_SECURE": "false",
            "GRANTPOOL_INSTANCE_PATH": str(workdir),
        }
    )
    return env


def sign_in(url: str, workdir: Path, generated: Generated) -> SignedIn:
    """Sign the bench applicant, reviewer and fund manager in, and start the applicant's
    draft, through the real services."""
    os.environ.update(app_environment(url, workdir))
    from sqlalchemy import select

    from grantpool import create_app
    from grantpool.accounts.models import User
    from grantpool.calls.models import Call
    from grantpool.extensions import db
    from grantpool.intake.services import start_application
    from grantpool.organisations.models import Organisation

    reviewer, manager = "reviewer@bench.example.org", "manager@bench.example.org"
    assert {reviewer, manager} <= set(STAFF)
    app = create_app()
    with app.app_context():
        organisation = db.session.get(Organisation, generated.applicant_organisation_id)
        user = db.session.scalar(select(User).where(User.email == "applicant0@bench.example.org"))
        call = db.session.get(Call, generated.open_call_id)
        assert user is not None and call is not None and organisation is not None
        draft = start_application(db.session, user, call, organisation, language="en")
        db.session.commit()
        draft_id = draft.id
        applicant = browser.signed_in_cookie(app, user)
    staff: dict[str, str] = {}
    for email in (reviewer, manager):
        # One app context per browser: the test client's requests share the context's `g`,
        # where the first browser's CSRF token would otherwise stay.
        with app.app_context():
            staff[email] = browser.signed_in_cookie(
                app, db.session.scalar(select(User).where(User.email == email))
            )
    signed_in = SignedIn(applicant, staff[reviewer], staff[manager], draft_id)
    app.extensions["grantpool.db"].dispose()
    return signed_in


def wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited while starting")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer in time")


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    if not children.exists():
        return []
    return [int(pid) for pid in children.read_text().split()]


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class PeakMemory:
    """The gunicorn workers' resident memory before a load and its peak during it (Linux:
    writing 5 to clear_refs resets a process's high-water mark, VmHWM)."""

    def __init__(self, master: int) -> None:
        self.pids = _worker_pids(master)
        self.before: dict[int, int] = {}
        for pid in self.pids:
            # Not permitted: the peak then covers the worker's whole life.
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            self.before[pid] = _status_kib(pid, "VmRSS")

    def report(self) -> str:
        if not self.pids:
            return ""
        peaks = {pid: _status_kib(pid, "VmHWM") for pid in self.pids}
        pid = max(peaks, key=lambda p: peaks[p] - self.before[p])
        return (
            f"worker peak {peaks[pid] / 1024:,.0f} MiB "
            f"(+{(peaks[pid] - self.before[pid]) / 1024:,.0f} MiB while serving)"
        )


def count_statements(base: str, scenario: Scenario) -> tuple[int | None, int]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        base + scenario.path,
        method=scenario.method,
        data=scenario.body.encode() if scenario.body else None,
        headers=scenario.headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            header = response.headers.get("X-SQL-Statements")
            return (int(header) if header else None), response.status
    except urllib.error.HTTPError as error:
        header = error.headers.get("X-SQL-Statements")
        return (int(header) if header else None), error.code


LATENCY = re.compile(r"^\s+(50|90|99)%\s+(\S+)", re.M)


def load(
    base: str,
    scenario: Scenario,
    seconds: int,
    connections: int,
    workdir: Path,
    master: int | None = None,
) -> Result:
    memory = PeakMemory(master) if scenario.measure_memory and master else None
    statements, status = count_statements(base, scenario)
    if scenario.measure_memory:
        statements = None  # a streamed body reads on after the header is sent
    connections = scenario.connections or connections
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    script = workdir / f"{abs(hash(scenario.name))}.lua"
    lines = [f'wrk.method = "{scenario.method}"']
    if scenario.body:
        lines.append(f"wrk.body = {json.dumps(scenario.body)}")
    for name, value in scenario.headers.items():
        lines.append(f'wrk.headers["{name}"] = {json.dumps(value)}')
    script.write_text("\n".join(lines) + "\n")
    command += ["-s", str(script), base + scenario.path]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    latencies = dict(LATENCY.findall(output))
    errors = ""
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        errors = f"{non2xx.group(1)} non-2xx"
    if status >= 400:
        errors = f"status {status}"
    return Result(
        scenario,
        float(rps_match.group(1)) if rps_match else 0.0,
        latencies.get("50", "?"),
        latencies.get("90", "?"),
        latencies.get("99", "?"),
        statements,
        errors,
        memory.report() if memory else "",
    )


def _rate(rps: float) -> str:
    """Requests per second: whole numbers, but an export's fraction is kept."""
    return f"{rps:,.0f}" if rps >= 10 else f"{rps:.2f}"


def print_table(results: list[Result], database: str, scale: Scale) -> bool:
    ceiling = results[0].rps or 1.0
    print(
        f"\ngrantpool benchmark on {database}, {scale.organisations:,} organisations, "
        f"{scale.applications:,} applications\n"
    )
    header = (
        "| page | req/s | ratio to minimal | p50 | p90 | p99 | SQL statements | target |"
        "\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )
    print(header)
    ok = True
    for r in results:
        ratio = r.rps / ceiling
        verdict = ""
        if r.scenario.target is not None:
            met = ratio >= r.scenario.target and (
                r.scenario.max_statements is None
                or (r.statements or 0) <= r.scenario.max_statements
            )
            ok = ok and met
            verdict = (
                f"≥ {r.scenario.target:.0%}"
                + (f", ≤ {r.scenario.max_statements} stmts" if r.scenario.max_statements else "")
                + (" ✓" if met else " ✗")
            )
        if r.errors:
            verdict += f" ({r.errors})"
            ok = False
        if r.memory:
            verdict += (" " if verdict else "") + r.memory
        print(
            f"| {r.scenario.name} | {_rate(r.rps)} | {ratio:.1%} | {r.p50} | {r.p90} | "
            f"{r.p99} | {r.statements if r.statements is not None else 'streamed'} | {verdict} |"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    # One thread per worker: pages are CPU-bound Python, and on two cores extra threads
    # mostly contend for the GIL (measured: form page, submission and dashboard all faster).
    parser.add_argument("--threads", type=int, default=1, help="gunicorn gthread threads")
    parser.add_argument(
        "--slow-link",
        action="store_true",
        help="instead: the applicant's pages in Chromium on an emulated 2G "
        "link (bench/browser.py; needs no wrk)",
    )
    args = parser.parse_args(argv)
    if args.slow_link:
        return browser.slow_link()
    if shutil.which("wrk") is None:
        print("make bench needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    scale = Scale() if args.scale == "full" else Scale.small()
    workdir = Path(tempfile.mkdtemp(prefix="grantpool-bench-"))
    url = prepare_database(args.database, workdir)
    process: subprocess.Popen[bytes] | None = None
    try:
        started = time.monotonic()
        migrations.upgrade(url)
        engine = create_db_engine(url)
        generated = generate(engine, scale)
        engine.dispose()
        print(
            f"generated {json.dumps(generated.counts)} in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        signed_in = sign_in(url, workdir, generated)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(args.workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(args.threads),
                # Each worker holds at most its share of the load generator's kept-alive
                # connections: uncapped, the first worker to wake accepts all of them and
                # the other idles (measured: one worker at 93 % CPU, the other at 0 %).
                "--worker-connections",
                str(-(-args.connections // args.workers)),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=app_environment(url, workdir),
        )
        wait_until_up(base, process)
        results = []
        for scenario in scenarios(generated, signed_in):
            load(base, scenario, 2, args.connections, workdir)  # warm up
            results.append(
                load(base, scenario, args.seconds, args.connections, workdir, master=process.pid)
            )
            print(f"  {scenario.name}: {_rate(results[-1].rps)} req/s", flush=True)
        ok = print_table(results, args.database, scale)
        print(f"\ntotal time {time.monotonic() - started:.0f} s")
        return 0 if ok else 1
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        drop_database(args.database, url)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
