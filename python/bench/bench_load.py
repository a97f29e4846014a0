"""Loading embeddings with psycopg 3: COPY BINARY against executemany INSERTs.

Run by scripts/bench-python, which prints and saves the markdown table this
writes to stdout. Connection parameters: PGHOST (default the local socket),
PGPORT, PGUSER, PGPASSWORD, as in python/tests; RUVECTOR_BENCH_DB names the
database (default ruvector_python_bench), created and dropped here.
"""

from __future__ import annotations

import argparse
import getpass
import os
import statistics
import sys
import time

import numpy as np
import psycopg
from psycopg import sql

import ruvector_jit

DIM = 384
RUNS = 3


def params(dbname: str) -> dict:
    p = {
        "host": os.environ.get("PGHOST") or "/var/run/postgresql",
        "port": int(os.environ.get("PGPORT") or 5432),
        "user": os.environ.get("PGUSER") or getpass.getuser(),
        "dbname": dbname,
    }
    if os.environ.get("PGPASSWORD"):
        p["password"] = os.environ["PGPASSWORD"]
    return p


def load_copy(conn: psycopg.Connection, data: np.ndarray) -> None:
    with conn.cursor() as cur:
        with cur.copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["bigint", "ruvector"])
            for i, row in enumerate(data):
                copy.write_row((i, row))
    conn.commit()


def load_executemany(conn: psycopg.Connection, data: np.ndarray) -> None:
    # %t: each embedding goes as its text literal '[0.1,-0.2,...]'
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO items (id, embedding) VALUES (%s, %t)", list(enumerate(data)))
    conn.commit()


def measure(conn: psycopg.Connection, load, data: np.ndarray) -> float:
    """Median seconds of RUNS loads, each into an emptied table, one transaction."""
    times = []
    for _ in range(RUNS):
        conn.execute("TRUNCATE items")
        conn.commit()
        t0 = time.perf_counter()
        load(conn, data)
        times.append(time.perf_counter() - t0)
        n = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        conn.commit()
        assert n == len(data), (n, len(data))
        print(f"  {load.__name__}: {len(data)} rows in {times[-1]:.2f} s", file=sys.stderr)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--machine", default="")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--executemany-rows", type=int, default=10_000)
    args = ap.parse_args()

    db = os.environ.get("RUVECTOR_BENCH_DB") or "ruvector_python_bench"
    with psycopg.connect(**params("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    try:
        data = np.random.default_rng(0).standard_normal((args.rows, DIM), dtype=np.float32)
        with psycopg.connect(**params(db)) as conn:
            conn.execute("CREATE EXTENSION ruvector_jit")
            conn.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, embedding ruvector({DIM}))")
            conn.commit()
            ruvector_jit.register_ruvector(conn)
            server = conn.info.parameter_status("server_version")
            t_copy = measure(conn, load_copy, data)
            many = data[: args.executemany_rows]
            t_many = measure(conn, load_executemany, many)
    finally:
        with psycopg.connect(**params("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))

    r_copy = args.rows / t_copy
    r_many = len(many) / t_many
    print("## Loading embeddings from Python (psycopg 3)")
    print()
    print(f"Machine: {args.machine}. PostgreSQL {server}, "
          f"psycopg {psycopg.__version__}, numpy {np.__version__}.")
    print(f"{DIM}-dim float32 embeddings (numpy) into `items (id bigint PRIMARY KEY, "
          f"embedding ruvector({DIM}))`, one transaction per load, into an emptied table; "
          f"median of {RUNS} runs, client and server on the same machine.")
    print()
    print("| Method | Rows loaded | Median time | Rows/s |")
    print("|---|---:|---:|---:|")
    print(f"| `COPY … FROM STDIN (FORMAT BINARY)`, `copy.write_row` | {args.rows:,} | {t_copy:.2f} s | {r_copy:,.0f} |")
    note = ""
    if len(many) != args.rows:
        note = (f" (on {len(many):,} rows, not {args.rows:,}, to keep the run short:"
                f" a {args.rows:,}-row load would take about {args.rows / r_many:.0f} s)")
    print(f"| `executemany` INSERT, text literals (`%t`){note} | {len(many):,} | {t_many:.2f} s | {r_many:,.0f} |")
    print()
    print(f"COPY BINARY loads {r_copy / r_many:.0f}× as many rows per second.")


if __name__ == "__main__":
    main()
