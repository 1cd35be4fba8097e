"""Load benchmark of the JSON API over HTTP: the real server (`seatwise serve`) driven from other processes.

    .venv/bin/python bench/api_load.py [--db sqlite|pg|both] [--quick] [--servers 1] [--clients 2] [--threads 4]
                                       [--rate 300] [--phases reads,mix,workflow] [--wait-idle SECONDS]

For each database (a new SQLite file, then the PostgreSQL database of $SEATWISE_BENCH_PG_URL, whose
schema is dropped and migrated again) it builds through the services one organisation paying by
card with 200 users and 300 subscriptions of five licences, two of them assigned, bought over 30
days and billed up to 26 November 2026 (one billing run: about 40 invoices of 10 lines), and API
keys of its Global admin. Then it starts `seatwise serve --now 2026-11-26T09:00:00Z --no-worker` (one
process; --servers N starts N of them on N ports, to measure what more processes would give) and
drives it over 127.0.0.1 from --clients processes of --threads threads, each thread with its own
keep-alive connection (the standard library's http.client, the cheapest client installed):

  reads     closed loop, as fast as the server answers: one subscription, its cancellation preview,
            the organisation's invoices (a page of --invoice-limit); requests/s, p50 and p99 each;
  mix       open loop paced at --rate requests/s (each thread keeps its own schedule; latency counts
            from the scheduled moment, so a late server is not hidden by a waiting client): half
            reads, half writes (assign and unassign a licence, licences up one and back down);
  workflow  add a user, buy 3 licences, raise them to 5, assign one, cancel: 1 client, then 8;
            requests/s.

Every response's status is checked; a run with any unexpected status is invalid (exit 1). The
CPU time of the server process, of the clients and of the whole machine is printed per phase, to
tell whether the server or the client was the limit, and so is how busy the machine was with other
work just before. Figures and where the server's time goes: docs/performance.md, "HTTP API (issue 5)".
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test_helper1"
ROOT = Path(__file__).resolve().parent.parent
SEATWISE = ROOT / ".venv" / "bin" / "seatwise"
SKU = "BIZ"
SEATS, ASSIGNED = 5, 2  # of every subscription built

TARGET_READS = 1000  # requests/s, each read endpoint
TARGET_MIX_P99 = 50  # ms, at 300 requests/s of the mix
TARGET_WORKFLOW = 1000  # requests/s of the workflow with 8 clients
WAIT_IDLE = 0.0  # seconds to wait before a phase for the machine to be quiet (--wait-idle)
QUIET = 0.25  # the share of the machine's cores busy with other work that counts as quiet


# --- the database ----------------------------------------------------------------------------


def reset_pg(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from seatwise import db

    name = make_url(url).database
    if name == "test":
        sys.exit("refusing to use the database `test`: the test suite uses it (set SEATWISE_BENCH_PG_URL)")
    with db.engine_for(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


def build(url: str, *, users: int, subs: int, keys: int) -> dict:
    """One organisation as 40 days of use leave it: users, subscriptions with licences assigned, invoices."""
    from sqlalchemy import text

    from seatwise import db
    from seatwise.apikeys import service as apikeys
    from seatwise.billing_run import service as billing_run
    from seatwise.catalog import service as catalog
    from seatwise.core.roles import OPERATOR
    from seatwise.licenses import service as licenses
    from seatwise.organizations import service as organizations
    from seatwise.payments import service as payments
    from seatwise.subscriptions import service as subscriptions

    start = NOW - timedelta(days=40)
    with db.unit_of_work(url) as s:
        catalog.add_product(
            s,
            sku=SKU,
            name="Seatwise Business",
            price="12.50",
            currency="EUR",
            interval="monthly",
            trial_days=30,
            max_seats=None,
            policy="standard",
            now=start,
        )
        org = organizations.add_org(s, name="Northwind", currency="EUR", locale="en", now=start)
        admin = organizations.add_user(
            s,
            org_id=org.id,
            email="admin@northwind.example",
            name="Admin",
            role="global_admin",
            actor=OPERATOR,
            now=start,
        )
        user_ids = [
            organizations.add_user(
                s,
                org_id=org.id,
                email=f"user{n:05d}@northwind.example",
                name=None,
                role="user",
                actor=OPERATOR,
                now=start,
            )
            for n in range(users)
        ]
        payments.add_payment_method(
            s, org_id=org.id, card_number="4242424242424242", expiry="12/30", invoice=False, actor=OPERATOR, now=start
        )
        s.flush()
        org_id, admin_id = org.id, admin.id
        user_ids = [u.id for u in user_ids]
    sub_ids = []
    for k in range(subs):  # ten a day for 30 days
        at = start + timedelta(minutes=k * (30 * 24 * 60 // subs))
        with db.unit_of_work(url) as s:
            sub = subscriptions.buy(s, org_id=org_id, sku=SKU, seats=SEATS, actor=OPERATOR, now=at)
            s.flush()
            for j in range(ASSIGNED):
                licenses.assign(s, sub_id=sub.id, user_id=user_ids[(ASSIGNED * k + j) % users], actor=OPERATOR, now=at)
            sub_ids.append(sub.id)
    with db.unit_of_work(url) as s:
        billing_run.run(s, as_of=NOW - timedelta(hours=1))
    secrets = []
    with db.unit_of_work(url) as s:
        for _ in range(keys):
            secrets.append(
                apikeys.create(s, operator=False, org_id=org_id, as_user=admin_id, now=NOW - timedelta(hours=1))[1]
            )
    with db.read_only(url) as s:
        invoices = s.scalar(text("SELECT count(*) FROM invoices"))
        lines = s.scalar(text("SELECT count(*) FROM charges WHERE invoice_id IS NOT NULL"))
    if url.startswith("postgresql"):  # the statistics autovacuum would have gathered by now
        with db.engine_for(url).begin() as conn:
            conn.execute(text("ANALYZE"))
    db.engine_for(url).dispose()  # no connection crosses into the client processes
    # For licence assignments in the mix: a user of the organisation that sub k does not hold.
    spare = {sub_id: user_ids[(ASSIGNED * k + users // 2) % users] for k, sub_id in enumerate(sub_ids)}
    return {
        "org": org_id,
        "subs": sub_ids,
        "spare": spare,
        "keys": secrets,
        "invoices": invoices,
        "lines": lines,
        "users": users,
    }


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, port: int, log_dir: str) -> subprocess.Popen:
    log = Path(log_dir) / f"serve-{port}.log"
    proc = subprocess.Popen(
        [
            str(SEATWISE),
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--now",
            NOW.isoformat().replace("+00:00", "Z"),
            "--no-worker",
            "--workers",
            str(WORKERS[0]),
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    if proc.poll() is None:
        stop_server(proc)
    sys.exit(f"the server did not answer /health within 30 s (exit {proc.returncode}):\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (all its threads) and of its live children (--workers) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


# --- the clients -------------------------------------------------------------------------------


@dataclass
class Request:
    name: str
    method: str
    path: str
    body: dict | None
    expect: int


@dataclass
class Outcome:
    """What one client process saw."""

    latencies: dict[str, list[float]] = field(default_factory=dict)  # from the moment sent
    late: dict[str, list[float]] = field(default_factory=dict)  # from the moment scheduled (paced runs)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    unsent: int = 0  # paced requests still unsent when the phase's time was up (the server fell behind)
    requests: int = 0
    workflows: int = 0
    first: float = float("inf")
    last: float = 0.0
    cpu: float = 0.0


class Connection:
    """One keep-alive HTTP/1.1 connection that checks each status."""

    def __init__(self, port: int, key: str, outcome: Outcome, lock: threading.Lock) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.outcome, self.lock = outcome, lock
        self.latencies: dict[str, list[float]] = {}
        self.late: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.error_count = 0
        self.unsent = 0

    def send(self, req: Request, *, scheduled: float | None = None) -> bytes | None:
        body = None if req.body is None else json.dumps(req.body)
        began = time.monotonic()
        try:
            self.conn.request(req.method, req.path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:  # a dropped connection is an error too
            self.conn.close()
            status, data = 0, repr(exc).encode()
        done = time.monotonic()
        self.latencies.setdefault(req.name, []).append(done - began)
        if scheduled is not None:
            self.late.setdefault(req.name, []).append(done - scheduled)
        if status != req.expect:
            self.error_count += 1
            if len(self.errors) < 5:
                self.errors.append(
                    f"{req.method} {req.path}: {status} (expected {req.expect}) {data[:300].decode(errors='replace')}"
                )
            return None
        return data

    def merge(self) -> None:
        with self.lock:
            for name, values in self.latencies.items():
                self.outcome.latencies.setdefault(name, []).extend(values)
            for name, values in self.late.items():
                self.outcome.late.setdefault(name, []).extend(values)
            self.outcome.errors.extend(self.errors[:5])
            self.outcome.error_count += self.error_count
            self.outcome.unsent += self.unsent
            self.outcome.requests += sum(len(v) for v in self.latencies.values())
        self.conn.close()


def reads_thread(conn: Connection, plan: list[Request], t0: float, until: float) -> None:
    i = 0
    while time.monotonic() < until:
        conn.send(plan[i % len(plan)])
        i += 1


def mix_thread(
    conn: Connection, plan: list[Request], t0: float, until: float, *, offset: float, interval: float
) -> None:
    planned = max(0, int((until - t0 - offset) / interval + 1 - 1e-9))
    cutoff = until + 0.5 * (until - t0) + 2  # a server far behind is not waited for: what is left is unsent
    i = 0
    while i < planned:
        scheduled = t0 + offset + i * interval
        if time.monotonic() > cutoff:
            conn.unsent += planned - i
            break
        pause = scheduled - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        conn.send(plan[i % len(plan)], scheduled=scheduled)
        i += 1


def workflow_thread(conn: Connection, org: int, tag: str, t0: float, until: float, counts: list[int]) -> None:
    n = 0
    while time.monotonic() < until:
        email = f"wf-{tag}-{n}@bench.example"
        user = conn.send(
            Request(
                "add user",
                "POST",
                f"/v1/organizations/{org}/users",
                {"email": email, "name": f"Workflow {tag} {n}"},
                201,
            )
        )
        sub = conn.send(
            Request("buy 3 licences", "POST", f"/v1/organizations/{org}/subscriptions", {"sku": SKU, "seats": 3}, 201)
        )
        n += 1
        if user is None or sub is None:
            continue
        user_id, sub_id = json.loads(user)["id"], json.loads(sub)["id"]
        done = [
            conn.send(Request("licences to 5", "PUT", f"/v1/subscriptions/{sub_id}/licenses", {"total": 5}, 200)),
            conn.send(Request("assign", "POST", f"/v1/subscriptions/{sub_id}/assignments", {"user_id": user_id}, 201)),
            conn.send(
                Request(
                    "cancel",
                    "POST",
                    f"/v1/subscriptions/{sub_id}/cancellation",
                    {"reason": "no_longer_needed", "comment": "bench"},
                    200,
                )
            ),
        ]
        counts[0] += all(answer is not None for answer in done)  # workflows done without an error


def client_process(spec: dict, queue) -> None:
    """One client process: its threads, each with one connection, then what they saw to `queue`."""
    outcome, lock = Outcome(), threading.Lock()
    t0, until = spec["t0"], spec["t0"] + spec["seconds"]
    threads, conns, counts = [], [], []
    for _k, task in enumerate(spec["threads"]):
        conn = Connection(task["port"], task["key"], outcome, lock)
        conns.append(conn)
        if spec["kind"] == "reads":
            args = (conn, task["plan"], t0, until)
            target, kwargs = reads_thread, {}
        elif spec["kind"] == "mix":
            target, args = mix_thread, (conn, task["plan"], t0, until)
            kwargs = {"offset": task["offset"], "interval": task["interval"]}
        else:
            counts.append([0])
            target, args, kwargs = workflow_thread, (conn, spec["org"], task["tag"], t0, until, counts[-1]), {}
        threads.append(threading.Thread(target=_timed, args=(target, args, kwargs, outcome, lock)))
    cpu_before = _own_cpu()
    pause = t0 - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for conn in conns:
        conn.merge()
    outcome.workflows = sum(c[0] for c in counts)
    outcome.cpu = _own_cpu() - cpu_before
    queue.put(outcome)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(target, args, kwargs, outcome: Outcome, lock: threading.Lock) -> None:
    first = time.monotonic()
    target(*args, **kwargs)
    last = time.monotonic()
    with lock:
        outcome.first, outcome.last = min(outcome.first, first), max(outcome.last, last)


# --- running a phase -----------------------------------------------------------------------------


@dataclass
class Result:
    outcome: Outcome
    seconds: float
    clients: int
    connections: int
    server_cpu: float  # share of one core, all server processes
    client_cpu: float  # share of one core, all client processes
    machine_busy: float  # share of the whole machine (all cores)
    background: float  # share of the whole machine busy just before the phase (other work)

    @property
    def rate(self) -> float:
        return self.outcome.requests / self.seconds


def run_phase(
    kind: str, per_thread: list[dict], *, seconds: float, clients: int, servers: list, org: int = 0
) -> Result:
    """Spread the threads over `clients` processes, start them together, gather what they saw."""
    background = idle_check()
    waited = 0.0
    while background > QUIET and waited < WAIT_IDLE:  # other work on the machine: wait a while for a lull
        background = idle_check()
        waited += 0.5
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    t0 = time.monotonic() + 0.4 + 0.05 * clients
    groups = [per_thread[i::clients] for i in range(clients)]
    procs = [
        ctx.Process(
            target=client_process, args=({"kind": kind, "threads": g, "t0": t0, "seconds": seconds, "org": org}, queue)
        )
        for g in groups
        if g
    ]
    for proc in procs:
        proc.start()
    while time.monotonic() < t0:
        time.sleep(0.005)
    server_before = sum(cpu_seconds(s.pid) for s in servers)
    machine_before = machine_busy()
    outcomes = [queue.get(timeout=seconds + 120) for _ in procs]
    server_after = sum(cpu_seconds(s.pid) for s in servers)
    machine_after = machine_busy()
    for proc in procs:
        proc.join()
    total = Outcome()
    for o in outcomes:
        for name, values in o.latencies.items():
            total.latencies.setdefault(name, []).extend(values)
        for name, values in o.late.items():
            total.late.setdefault(name, []).extend(values)
        total.errors += o.errors
        total.error_count += o.error_count
        total.unsent += o.unsent
        total.requests += o.requests
        total.workflows += o.workflows
        total.first, total.last = min(total.first, o.first), max(total.last, o.last)
        total.cpu += o.cpu
    elapsed = max(total.last - t0, 1e-9)
    return Result(
        total,
        elapsed,
        len(procs),
        len(per_thread),
        (server_after - server_before) / elapsed,
        total.cpu / elapsed,
        (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1]),
        background,
    )


def idle_check(seconds: float = 0.5) -> float:
    """How busy the machine is with other work (nothing of ours runs now): a share of all its cores."""
    before = machine_busy()
    time.sleep(seconds)
    after = machine_busy()
    return (after[0] - before[0]) / max(after[1] - before[1], 1e-9)


def python_speed() -> float:
    """Microseconds of a fixed pure-Python loop, best of 20: how fast this machine runs Python just now."""
    best = float("inf")
    for _ in range(20):
        began = time.perf_counter()
        d = {i: i for i in range(1000)}
        sum(d[k] for k in range(1000))
        best = min(best, time.perf_counter() - began)
    return best * 1e6


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def cpu_note(r: Result) -> str:
    per_request = 1000 * r.server_cpu * r.seconds / max(r.outcome.requests, 1)
    return (
        f"  [{r.clients} client processes, {r.connections} connections; CPU: server {100 * r.server_cpu:.0f} % "
        f"of a core ({per_request:.1f} ms a request), clients {100 * r.client_cpu:.0f} % of a core; machine "
        f"{100 * r.machine_busy:.0f} % busy of {os.cpu_count()} cores, {100 * r.background:.0f} % busy with other "
        f"work just before]"
    )


# --- the benchmark ----------------------------------------------------------------------------

ERRORS = [0]  # responses with an unexpected status in this database's run
WORKERS = [1]  # --workers, for start_server


def check(r: Result, what: str) -> None:
    ERRORS[0] += r.outcome.error_count
    if r.outcome.error_count:
        print(
            f"!! {what}: {r.outcome.error_count} of {r.outcome.requests} responses had an unexpected status; "
            f"first ones:"
        )
        for line in r.outcome.errors[:10]:
            print(f"   {line}")


@dataclass
class Setup:
    """What the phases of one database's run share."""

    args: argparse.Namespace
    label: str
    data: dict
    ports: list[int]
    servers: list
    report: dict

    def conn(self, k: int) -> dict:  # connections spread over the servers and the keys
        return {"port": self.ports[k % len(self.ports)], "key": self.data["keys"][k % len(self.data["keys"])]}

    def sub(self, i: int) -> int:
        return self.data["subs"][i % len(self.data["subs"])]

    def reads(self) -> dict:
        limit = self.args.invoice_limit
        invoices = f"/v1/organizations/{self.data['org']}/invoices" + (f"?limit={limit}" if limit != 50 else "")
        return {
            "GET subscription": lambda i: Request(
                "GET subscription", "GET", f"/v1/subscriptions/{self.sub(i)}", None, 200
            ),
            "GET cancellation": lambda i: Request(
                "GET cancellation", "GET", f"/v1/subscriptions/{self.sub(i)}/cancellation", None, 200
            ),
            f"GET invoices (limit {limit})": lambda i: Request(
                f"GET invoices (limit {limit})", "GET", invoices, None, 200
            ),
        }

    def run(
        self, kind: str, per_thread: list[dict], *, seconds: float, clients: int | None = None, what: str = ""
    ) -> Result:
        r = run_phase(
            kind,
            per_thread,
            seconds=seconds,
            clients=clients or self.args.clients,
            servers=self.servers,
            org=self.data["org"],
        )
        check(r, what or kind)
        return r


def bench(url: str, label: str, args, report: dict, tmp: str) -> int:
    from seatwise import db

    if url.startswith("postgresql"):
        reset_pg(url)
    db.upgrade(url)
    started = time.perf_counter()
    data = build(url, users=args.users, subs=args.subs, keys=max(args.clients, 8))
    print(
        f"\n== {label}: built 1 organisation, {data['users']} users, {len(data['subs'])} subscriptions, "
        f"{data['invoices']} invoices ({data['lines']} lines) in {time.perf_counter() - started:.1f} s"
    )
    ports = [free_port() for _ in range(args.servers)]
    servers = [start_server(url, port, tmp) for port in ports]
    ERRORS[0] = 0
    try:
        setup = Setup(args, label, data, ports, servers, report)
        reads = setup.reads()
        # warm up: statements compiled and cached, connections in the pools
        setup.run(
            "reads",
            [
                {**setup.conn(k), "plan": [make(k * 7 + j) for make in reads.values() for j in range(3)]}
                for k in range(args.clients * args.threads)
            ],
            seconds=args.warmup,
            what="warm-up",
        )
        size = len(_get(ports[0], data["keys"][0], reads[f"GET invoices (limit {args.invoice_limit})"](0).path))
        print(
            f"server: {args.servers} × `seatwise serve --no-worker --workers {args.workers}`; "
            f"a page of invoices is {size:,} bytes"
        )
        if "reads" in args.phases:
            read_phase(setup)
        if "mix" in args.phases:
            mix_phase(setup)
        if "workflow" in args.phases:
            workflow_phase(setup)
    finally:
        for server in servers:
            stop_server(server)
    return ERRORS[0]


def read_phase(setup: Setup) -> None:
    args, connections = setup.args, setup.args.clients * setup.args.threads
    print(
        f"\n-- a. reads, closed loop, {connections} connections, {args.seconds:.0f} s each "
        f"(target ≥ {TARGET_READS:,} requests/s each)"
    )
    print(f"{'endpoint':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   target")
    for name, make in setup.reads().items():
        r = setup.run(
            "reads",
            [{**setup.conn(k), "plan": [make(k * 101 + j) for j in range(50)]} for k in range(connections)],
            seconds=args.seconds,
            what=name,
        )
        lat = r.outcome.latencies[name]
        ok = r.rate >= TARGET_READS
        print(f"{name:<28} {r.rate:8.0f} {ms(lat, 0.5):8.1f} {ms(lat, 0.99):8.1f}   ≥ {TARGET_READS:,}/s {verdict(ok)}")
        print(cpu_note(r))
        setup.report[(setup.label, name)] = (r.rate, ms(lat, 0.5), ms(lat, 0.99), ok)


def mix_phase(setup: Setup) -> None:
    """Each connection keeps its own schedule and writes to its own four subscriptions only."""
    args, reads, n = setup.args, setup.reads(), setup.args.mix_threads
    invoices = f"GET invoices (limit {args.invoice_limit})"
    print(
        f"\n-- b. mix paced at {args.rate} requests/s for {args.mix_seconds:.0f} s, {n} connections, half reads, "
        f"half writes (target p99 < {TARGET_MIX_P99} ms, counted from the moment each request was due)"
    )
    per_thread, interval = [], n / args.rate
    for k in range(n):
        own = setup.data["subs"][k * 4 : (k + 1) * 4]
        plan = []
        for c in range(40):
            sub = own[c % len(own)]
            user = setup.data["spare"][sub]
            plan += [
                reads["GET subscription"](k * 13 + c),
                Request("POST assignment", "POST", f"/v1/subscriptions/{sub}/assignments", {"user_id": user}, 201),
                reads["GET cancellation"](k * 17 + c),
                Request("DELETE assignment", "DELETE", f"/v1/subscriptions/{sub}/assignments/{user}", None, 204),
                reads[invoices](0),
                Request("PUT licences up", "PUT", f"/v1/subscriptions/{sub}/licenses", {"total": SEATS + 1}, 200),
                reads["GET subscription"](k * 19 + c + 7),
                Request("PUT licences down", "PUT", f"/v1/subscriptions/{sub}/licenses", {"total": SEATS}, 200),
            ]
        per_thread.append({**setup.conn(k), "plan": plan, "offset": k * interval / n, "interval": interval})
    r = setup.run("mix", per_thread, seconds=args.mix_seconds)
    print(f"{'endpoint':<28} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'p99 from send':>14}")
    everything, sent = [], []
    for name in sorted(r.outcome.late):
        late, lat = r.outcome.late[name], r.outcome.latencies[name]
        everything += late
        sent += lat
        print(f"{name:<28} {len(late):7d} {ms(late, 0.5):8.1f} {ms(late, 0.99):8.1f} {ms(lat, 0.99):14.1f}")
    ok = ms(everything, 0.99) < TARGET_MIX_P99 and not r.outcome.unsent
    print(
        f"{'all':<28} {len(everything):7d} {ms(everything, 0.5):8.1f} {ms(everything, 0.99):8.1f} "
        f"{ms(sent, 0.99):14.1f}   p99 < {TARGET_MIX_P99} ms {verdict(ok)}"
    )
    print(
        f"  achieved {r.rate:.0f} requests/s"
        + (
            f"; {r.outcome.unsent} of the {args.rate * args.mix_seconds:.0f} "
            f"requests were still unsent when time was up (server behind)"
            if r.outcome.unsent
            else ""
        )
    )
    print(cpu_note(r))
    setup.report[(setup.label, f"mix at {args.rate}/s")] = (r.rate, ms(everything, 0.5), ms(everything, 0.99), ok)


def workflow_phase(setup: Setup) -> None:
    args = setup.args
    print(
        f"\n-- c. workflow: add a user, buy 3 licences, raise to 5, assign one, cancel "
        f"(target ≥ {TARGET_WORKFLOW:,} requests/s with 8 clients)"
    )
    print(f"{'clients':<28} {'req/s':>8} {'wf/s':>8} {'p50 ms':>8} {'p99 ms':>8}   target")
    for n in (1, 8):
        tasks = [{**setup.conn(k), "tag": f"{setup.label[:2].lower()}{n}x{k}"} for k in range(n)]
        r = setup.run(
            "workflow", tasks, seconds=args.workflow_seconds, clients=min(n, args.clients), what=f"workflow × {n}"
        )
        lat = [v for values in r.outcome.latencies.values() for v in values]
        ok = r.rate >= TARGET_WORKFLOW
        print(
            f"{n:<28} {r.rate:8.0f} {r.outcome.workflows / r.seconds:8.1f} {ms(lat, 0.5):8.1f} "
            f"{ms(lat, 0.99):8.1f}   {f'≥ {TARGET_WORKFLOW:,}/s ' + verdict(ok) if n == 8 else '-'}"
        )
        per = ", ".join(f"{name} {ms(v, 0.5):.1f}/{ms(v, 0.99):.1f}" for name, v in r.outcome.latencies.items())
        print(f"  p50/p99 ms: {per}")
        print(cpu_note(r))
        setup.report[(setup.label, f"workflow × {n}")] = (r.rate, ms(lat, 0.5), ms(lat, 0.99), ok if n == 8 else None)


def _get(port: int, key: str, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 200, (path, response.status, body[:300])
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "pg", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="shorter phases (about a third of the time)")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--subs", type=int, default=300)
    parser.add_argument("--servers", type=int, default=1, help="server processes (on as many ports)")
    parser.add_argument("--workers", type=int, default=1, help="`seatwise serve --workers N` (processes on one port)")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="connections per client process for the reads")
    parser.add_argument("--mix-threads", type=int, default=16, help="connections for the paced mix")
    parser.add_argument("--rate", type=int, default=300, help="requests/s of the mix")
    parser.add_argument("--invoice-limit", type=int, default=10, help="invoices per page read (the API's default: 50)")
    parser.add_argument("--phases", default="reads,mix,workflow", help="which of reads, mix, workflow to run")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each phase, wait up to this long for other work on the machine to pause",
    )
    args = parser.parse_args()
    args.phases = set(args.phases.split(","))
    WORKERS[0] = args.workers
    if not args.phases <= {"reads", "mix", "workflow"}:
        parser.error("--phases: expected a comma list of reads, mix, workflow")
    global WAIT_IDLE
    WAIT_IDLE = args.wait_idle
    args.warmup = 1.0 if args.quick else 2.0
    args.seconds = 2.0 if args.quick else 5.0
    args.mix_seconds = 4.0 if args.quick else 10.0
    args.workflow_seconds = 2.0 if args.quick else 5.0
    pg_url = os.environ.get("SEATWISE_BENCH_PG_URL", PG_DEFAULT)
    targets = []
    tmp = tempfile.TemporaryDirectory(prefix="seatwise-api-bench-")
    if args.db in ("sqlite", "both"):
        targets.append((f"sqlite:///{tmp.name}/seatwise.db", "SQLite"))
    if args.db in ("pg", "both"):
        targets.append((pg_url, "PostgreSQL"))
    print(
        f"Seatwise HTTP API load benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}; reference loop {python_speed():.0f} µs; machine "
        f"{100 * idle_check(1.0):.0f} % busy with other work"
    )
    report: dict = {}
    errors = 0
    started = time.perf_counter()
    try:
        for url, label in targets:
            errors += bench(url, label, args, report, tmp.name)
    finally:
        tmp.cleanup()
    print(f"\n== summary ({time.perf_counter() - started:.0f} s)")
    for (label, what), (rate, p50, p99, ok) in report.items():
        mark = "" if ok is None else verdict(ok)
        print(f"{label:<11} {what:<28} {rate:8.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  {mark}")
    if errors:
        print(f"INVALID: {errors} responses had an unexpected status")
        sys.exit(1)


if __name__ == "__main__":
    main()
