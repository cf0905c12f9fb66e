"""The pgbench anchor: the very statements patron issues for one update, at pgbench speed.

`capture` runs patron in this process (bench.inprocess), sends a few updates of the benchmark's
shape to one loaded customer and records every statement of the last one: SQL text, arguments
and the columns that came back. `script` turns that transaction into pgbench scripts (one per
org, so the org code is a literal): the customer is drawn at random (`\\set n ...`), its id,
identifiers and the version it is at are substituted where patron used the recorded customer's,
`now()` replaces timestamps, and every other argument is passed unchanged as a `-D` variable.
pgbench then runs it in prepared mode, which is what asyncpg does. No statement is copied by
hand: when patron's repository changes, the anchor follows.

`reference_script` does the same for the reference app's three statements (taken from
`bench.reference_app`), so one run shows how much database work each side asks for per update.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench import dataset, reference_app
from bench.common import TMP, BenchError, run
from bench.inprocess import Transaction, patron_app

_PARAM = re.compile(r"\$(\d+)(?!\d)")
_PGBENCH_VARIABLE = re.compile(r"(?<!:):(?!:)[A-Za-z0-9_]")


@dataclass
class Capture:
    """The statements of one update and one details read of loaded customer `customer`."""

    customer: int
    version_before: int
    update: list[Transaction]
    details: list[Transaction]

    def round_trips(self, transactions: list[Transaction]) -> int:
        """Round trips to the database: each statement, and BEGIN and COMMIT around those of a
        transaction (a unit of work outside one has neither)."""
        return sum(len(tx.statements) + (0 if tx.autocommit else 2) for tx in transactions)

    def summary(self) -> dict[str, Any]:
        """Statement texts and round-trip counts, for the results file."""

        def texts(txs: list[Transaction]) -> list[dict[str, Any]]:
            return [{"write": tx.write, "statements": [s.sql for s in tx.statements]} for tx in txs]

        return {
            "update": texts(self.update),
            "update_round_trips": self.round_trips(self.update),
            "details": texts(self.details),
            "details_round_trips": self.round_trips(self.details),
        }


def _auth(n: int) -> dict[str, str]:
    return {"Authorization": dataset.basic_auth(dataset.org_code(dataset.org_index(n)))}


def _version(etag: str | None) -> int:
    if not etag or not etag.strip('"').isdigit():
        raise BenchError(f"patron's update answered without a numeric ETag ({etag!r})")
    return int(etag.strip('"'))


async def capture(database_url: str, customers: int) -> Capture:
    """Record the statements patron issues for an update and a details read of one customer."""
    n = customers
    if n < 100:
        raise BenchError("the pgbench anchor needs at least 100 customers")
    lookup = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": dataset.mobile(n)}
    async with patron_app(database_url) as p:
        version = 0
        k = 0
        while version < 5:  # distinct versions, ids and positions, so arguments map unambiguously
            k += 1
            r = await p.client.put(
                "/v2/customers/lookup",
                params=lookup,
                json=dataset.update_body(n, k),
                headers=_auth(n),
            )
            if r.status_code != 200:
                raise BenchError(f"update of customer {n}: {r.status_code} {r.text}")
            version = _version(r.headers.get("etag"))
        p.db.recording = []
        r = await p.client.put(
            "/v2/customers/lookup",
            params=lookup,
            json=dataset.update_body(n, k + 1),
            headers=_auth(n),
        )
        update = p.db.recording
        p.db.recording = []
        d = await p.client.get(
            "/v2/customers/lookup/customerDetails", params=lookup, headers=_auth(n)
        )
        details = p.db.recording
        p.db.recording = None
    if r.status_code != 200 or _version(r.headers.get("etag")) != version + 1:
        raise BenchError(f"recorded update of customer {n}: {r.status_code} {r.text}")
    if d.status_code != 200:
        raise BenchError(f"recorded read of customer {n}: {d.status_code} {d.text}")
    if not any(tx.write for tx in update):
        raise BenchError("the recorded update issued no write transaction")
    return Capture(n, version, update, details)


@dataclass
class Script:
    """pgbench scripts (one per org) and the `-D` variables they use."""

    files: list[Path]
    defines: dict[str, str]
    text: str
    """The first org's script, for the results file."""


def _constant(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "{" + ",".join('"' + v.replace('"', '\\"') + '"' for v in value) + "}"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


class _Renderer:
    """Turns recorded arguments into pgbench expressions, variables and literals."""

    def __init__(self, cap: Capture) -> None:
        n = cap.customer
        self.by_value: dict[tuple[type, Any], str] = {
            (int, n): ":n",
            (int, cap.version_before): ":c_version",
            (int, cap.version_before + 1): ":v",
            (str, dataset.mobile(n)): ":mobile",
            (str, dataset.email(n)): "('customer' || :n::text || '@example.com')",
            (str, dataset.external_id(n)): "('EXT' || lpad(:n::text, 10, '0'))",
            (str, dataset.wechat_id(n)): "('wx' || lpad(:n::text, 10, '0'))",
            (str, dataset.org_code(dataset.org_index(n))): "'{org}'",
            (str, dataset.till_code(dataset.org_code(dataset.org_index(n)))): "'{org}.till'",
        }
        self.defines: dict[str, str] = {}
        self.email = dataset.email(n)

    def remember_row(self, row: dict[str, Any]) -> None:
        """Later arguments equal to a plain value of this row come from it (`\\gset c_`)."""
        for column, value in row.items():
            if isinstance(value, str) and (str, value) not in self.by_value:
                self.by_value[(str, value)] = f":c_{column}"

    def arg(self, value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, datetime):
            return "now()"
        if value == "":
            return "''"  # pgbench refuses an empty -D value
        if not isinstance(value, bool) and isinstance(value, int | str):
            known = self.by_value.get((type(value), value))
            if known is not None:
                return known
        name = f"p{len(self.defines) + 1}"
        self.defines[name] = _constant(value)
        if isinstance(value, dict | list) and self.email in self.defines[name]:
            # A document naming the captured customer's email (the profiles with their
            # channels, the history's paths) names each replayed customer's own instead, so no
            # replayed customer is given another's address.
            own = f"replace(:{name}::text, '{self.email}', {self.by_value[(str, self.email)]})"
            strings = isinstance(value, list) and all(isinstance(v, str) for v in value)
            return f"{own}::{'text[]' if strings else 'jsonb'}"
        return f":{name}"

    def sql(self, sql: str, args: tuple[Any, ...]) -> str:
        if _PGBENCH_VARIABLE.search(sql):
            raise BenchError(f"this statement has a ':' pgbench would read as a variable: {sql}")
        rendered = [self.arg(a) for a in args]
        return _PARAM.sub(lambda m: rendered[int(m.group(1)) - 1], " ".join(sql.split()))


def script(cap: Capture, customers: int, directory: Path = TMP) -> Script:
    """pgbench scripts replaying the captured update on random customers of each org."""
    renderer = _Renderer(cap)
    body: list[str] = []
    got_version = False
    for tx in cap.update:
        if not tx.autocommit:
            body.append(
                "BEGIN;" if tx.write else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
            )
        for stmt in tx.statements:
            line = renderer.sql(stmt.sql, stmt.args)
            # patron runs a write that finds its customer's row held again under the lock;
            # pgbench cannot run a transaction again, so its replay waits for the row instead.
            line = line.replace(" FOR UPDATE NOWAIT", " FOR UPDATE")
            if "version" in stmt.result and not got_version:
                body.append(f"{line} \\gset c_")
                body.append("\\set v :c_version + 1")
                renderer.remember_row(stmt.result)
                got_version = True
            else:
                body.append(f"{line};")
        if not tx.autocommit:
            body.append("COMMIT;")
    if not got_version:
        raise BenchError("no recorded statement read the customer's version: cannot replay it")
    files = _per_org("update statements patron issued", customers, body, directory)
    return Script(files, renderer.defines, files[0].read_text(encoding="utf-8"))


def _per_org(kind: str, customers: int, body: list[str], directory: Path) -> list[Path]:
    """One script per org: `body` on customers of that org drawn at random."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(dataset.ORG_COUNT):
        count = (customers - 1 - index) // dataset.ORG_COUNT + 1
        org = dataset.org_code(index)
        lines = [
            f"-- Generated by bench/pgbench.py: {kind} for one",
            f"-- PUT /v2/customers/lookup; customers of org {org}, drawn at random.",
            f"\\set n {index + 1} + {dataset.ORG_COUNT} * random(0, {count - 1})",
            f"\\set mobile {dataset.mobile(0)} + :n",
            *(line.replace("'{org}", f"'{org}") for line in body),
        ]
        path = directory / f"pgbench-{kind.split()[0]}-{org}.sql"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def reference_script(customers: int, directory: Path = TMP) -> Script:
    """pgbench scripts of the reference app's update, as it issues it, on random customers.

    The customer is found by mobile and locked, its row updated with the extended fields of
    `dataset.update_body`, and a history row inserted whose changes hold that body, as the
    reference app does with what wrk sends.
    """
    body = dataset.update_body(1, 0)
    defines = {
        "p1": orjson.dumps(body["extendedFields"]).decode(),
        "p2": "0" * 32,
        "p3": orjson.dumps([{"new": body}]).decode(),
    }

    def sql(text: str, *args: str) -> str:
        return _PARAM.sub(lambda m: args[int(m.group(1)) - 1], " ".join(text.split()))

    history_args = ("'{org}'", ":c_id", ":v", "now()", ":p2", "'{org}.till'", ":p3")
    lines = [
        "BEGIN;",
        sql(reference_app.LOCK, "'{org}'", "'INSTORE'", "''", "'mobile'", ":mobile") + " \\gset c_",
        "\\set v :c_version + 1",
        sql(reference_app.UPDATE, "'{org}'", ":c_id", ":v", ":p1", "now()") + ";",
        sql(reference_app.HISTORY, *history_args) + ";",
        "COMMIT;",
    ]
    files = _per_org("reference statements", customers, lines, directory)
    return Script(files, defines, files[0].read_text(encoding="utf-8"))


@dataclass
class PgbenchResult:
    """One pgbench run."""

    tps: float
    p50_ms: float
    p99_ms: float
    transactions: int
    failed: int
    seconds: float
    clients: int
    raw: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """As plain JSON data."""
        return asdict(self)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run_pgbench(
    database_url: str, sc: Script, *, clients: int, threads: int, seconds: float, tag: str
) -> PgbenchResult:
    """Run the scripts for `seconds` with `clients` connections; tps and latency percentiles."""
    url = urlsplit(database_url)
    log_dir = TMP / "pgbench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob(f"{tag}.*"):
        old.unlink()
    cmd: list[str] = [
        "pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads),
        "-T", str(max(1, round(seconds))), "-l", "--log-prefix", str(log_dir / tag),
        "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
        "-U", url.username or "postgres",
    ]  # fmt: skip
    for path in sc.files:
        cmd += ["-f", f"{path}@1"]
    for name, value in sc.defines.items():
        cmd += ["-D", f"{name}={value}"]
    cmd.append(url.path.lstrip("/"))
    out = run(cmd, what="pgbench", timeout=seconds + 120)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps is None or done is None:
        raise BenchError(f"cannot read pgbench's output:\n{out}")
    latencies: list[float] = []
    for path in log_dir.glob(f"{tag}.*"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                latencies.append(int(parts[2]) / 1000)
    latencies.sort()
    result = PgbenchResult(
        tps=round(float(tps.group(1)), 1),
        p50_ms=round(_percentile(latencies, 50), 2),
        p99_ms=round(_percentile(latencies, 99), 2),
        transactions=int(done.group(1)),
        failed=int(failed.group(1)) if failed else 0,
        seconds=seconds,
        clients=clients,
        raw={"mean_ms": round(statistics.fmean(latencies), 2) if latencies else None},
    )
    if result.failed:
        raise BenchError(f"pgbench: {result.failed} transactions failed:\n{out}")
    return result
