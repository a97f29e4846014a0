#!/usr/bin/env python3
"""SQL fuzz harness for the ruvector_jit extension (PostgreSQL 15).

Generates hostile calls of every SQL function, operator, cast and aggregate
the extension declares, and of every parameter of every attention mechanism
(learned from ruvector_attention_types()), from a fixed seed, and runs them
through psql in batches against a scratch database.

A statement fails when
  - it raises an internal error (SQLSTATE XX000),
  - its backend crashes (the server log says a process was terminated by a
    signal or exited abnormally, or psql lost the connection without being
    told why),
  - it outlives statement_timeout by more than --margin seconds (a hang:
    the backend does not check for interrupts). The hung backend is
    cancelled, then terminated, then killed (SIGKILL, which makes the
    postmaster restart every backend) so that nothing is left spinning.
Statements cancelled by statement_timeout (57014) are counted and listed,
not failed. The last line is `fuzz: N passed, M failed`.

Standard library only. Usage:
  python3 tests/fuzz/fuzz.py [--seconds 60 | --count N] [--seed 1] [--dbname ruvector_fuzz]
  python3 tests/fuzz/fuzz.py --seed 1 --skip 1234 --count 1     # re-run statement #1234 alone
  python3 tests/fuzz/fuzz.py --save /tmp/f.sql; python3 tests/fuzz/fuzz.py --replay /tmp/f.sql
  python3 tests/fuzz/fuzz.py --print --count 50                  # print the statements only
Every mode, --print too, needs the running server (it lists the mechanisms). As root
the server log (/var/log/postgresql/postgresql-15-main.log) is read for crashed backends; a user
who cannot read it gets a warning and crashes are seen through psql's lost connection only.
"""

import argparse
import collections
import dataclasses
import hashlib
import math
import os
import queue
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_LOG = "/var/log/postgresql/postgresql-15-main.log"
EXT_DIR = "/usr/share/postgresql/15/extension"


def ext_script():
    """The installed script of the extension's default version."""
    try:
        with open(os.path.join(EXT_DIR, "ruvector_jit.control")) as f:
            version = re.search(r"default_version\s*=\s*'([^']+)'", f.read()).group(1)
    except (OSError, AttributeError):
        version = "unknown"
    return os.path.join(EXT_DIR, "ruvector_jit--%s.sql" % version)

# (exit code 1 is a FATAL exit, as a parallel worker that raised an ERROR: not a crash)
CRASH_RE = re.compile(r"terminated by signal|server process .* was terminated|"
                      r"(server process|background worker) .* exited with exit code ([2-9]|\d\d)|"
                      r"\bPANIC:|terminate called after throwing|LLVM ERROR")
PID_IN_LOG_RE = re.compile(r"\(PID (\d+)\)")
ERR_RE = re.compile(r"^(?:psql:[^:]*:\d+: )?(ERROR|FATAL|PANIC):  (?:([0-9A-Z]{5}): )?(.*)$")
CONN_LOST_RE = re.compile(r"server closed the connection unexpectedly|connection to server was lost|"
                          r"no connection to the server|could not send data to server|"
                          r"could not receive data from server")
TRANSIENT_STATES = {"57P01", "57P02", "57P03", "08006", "08003", "08001", "08004"}

# ---------------------------------------------------------------------------
# Hostile values
# ---------------------------------------------------------------------------
HOSTILE_NUMS = ["0", "-1", "-3", "2147483647", "2147483648", "1e20", "-1e20", "1e308", "1e-320",
                "65536", "32768", "0.5", "1.5", "-0", "4097", "16001", "1e400", "-2147483649",
                "9007199254740993", "1e-7", "-1e308", "4294967296", "63", "64", "65"]
HOSTILE_JSON = ['"str"', '""', '"1"', "[]", "[1]", "{}", '{"a": 1}', '{"a": {"b": [1, {"c": null}]}}',
                "null", "true", "false", '"' + "x" * 3000 + '"', "[[[]]]", '"NaN"', '"Infinity"', '"-1"']
HOSTILE_VALUES = HOSTILE_NUMS + HOSTILE_JSON
HOSTILE_PARAMS_WHOLE = ["'[]'", "'\"x\"'", "'1'", "'null'", "'true'", "'[{\"tau\": 1}]'", "NULL::jsonb",
                        "'{\"params\": {\"tau\": 1}}'", "'{\"bogus\": 1}'", "'{\"\": 1}'",
                        "'{\"" + "k" * 2000 + "\": 1}'", "'{\"TAU\": 1}'", "'{\" tau\": 1}'",
                        "'{\"num_heads\": 1, \"num_heads\": 2}'", "'{\"\\u00e9\": 1}'", "'{}'"]
# Names that are not attention types, or catalogue names without a shipped form, or kernels.
EXTRA_MECHS = ["", "nope", "SCALED_DOT", "scaled_dot ", " scaled_dot", "x" * 5000, "scaled-dot",
               "talking_heads", "multi_head_latent", "differential", "retention", "nystrom", "gat", "gatv2",
               "graph_transformer", "agnn", "gat_edge", "moe_topk", "switch", "expert_choice",
               "mixed_curvature", "sinkhorn", "alibi_score", "poincare_distance", "poincare_expmap0",
               "poincare_logmap0", "poincare_mobius_add", "l2_distance", "negative_inner_product",
               "cosine_distance", "norm", "additive", "causal", "sequence", "%s", "'; select 1; --"]
BAD_TEXT_VECTORS = ["[NaN]", "[nan,1]", "[inf]", "[-Infinity]", "[1e39]", "[1e-46]", "[]", "[", "]", "[1,,2]",
                    "[1 2]", "[ 1 , 2 ]", "[1,2]x", " [1]", "[1]  ", "[+1]", "[0x10]", "[1e]", "[--1]", "[1,2,]",
                    "{1,2}", "1,2", "", "[Infinity,1]", "[-nan]", "[3.4028236e38]", "[-3.4028236e38]",
                    "[3.4028234e38]", "[1e-45]", "[1e-38]", "[-0]", "[\t1\n]", "[1,2", "[[1]]", "[1;2]",
                    "[" + "9" * 400 + "]", "[0." + "0" * 400 + "1]", "[１]", "[1e2147483648]", "[.]", "[-]",
                    "[1.5e-39,2]", "[1,2,3]"]
CURVATURES = ["1", "0.5", "2", "0", "-1", "'NaN'", "'Infinity'", "'-Infinity'", "1e-45", "1e-38", "3.4e38",
              "1e-10", "1e10", "-0", "NULL", "1e-30"]
TYPMODS = ["-1", "0", "1", "2", "3", "16000", "16001", "-2", "2147483647", "-2147483648", "65535", "65536"]
GUCS = ["SET ruvector_jit.enabled = off", "SET ruvector_jit.enabled = on", "SET ruvector_jit.threads = 64",
        "SET ruvector_jit.threads = 2", "SET ruvector_jit.threads = 1", "SET ruvector_jit.threads = 0",
        "SET ruvector_jit.threads = 65", "SET ruvector_jit.cache_size = 1", "SET ruvector_jit.cache_size = 2",
        "SET ruvector_jit.cache_size = 0", "SET ruvector_jit.cache_size = 100001",
        "SET ruvector_jit.cache_size = 256", "SET ruvector_jit.cache_dir = ''", "RESET ruvector_jit.cache_dir",
        "SET ruvector_jit.enabled = 'maybe'", "SET ruvector_jit.threads = 'x'", "RESET ruvector_jit.threads",
        "RESET ruvector_jit.enabled", "RESET ruvector_jit.cache_size", "SELECT ruvector_jit_cache_reset()"]
SCHEDULE_PARAMS = {"causal", "block_size", "num_heads", "num_kv_heads"}
DIMS = [1, 2, 3, 4, 5, 7, 8, 8, 8, 16, 16, 31, 32, 33, 63, 64]
ROWS = [1, 1, 2, 3, 5, 8, 17, 31, 64, 65, 100, 127, 128, 130, 192, 200, 257, 300]


def sq(s):
    """A SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def fnum(x):
    return "%.9g" % x


@dataclasses.dataclass
class Stmt:
    idx: int
    sql: str
    func: str
    mech: str = ""
    pairs: tuple = ()        # hostile (param, value) pairs: a hang class
    systematic: str = ""     # the systematic case this covers
    # results
    sqlstate: str = ""
    message: str = ""
    duration: float = 0.0
    fail: str = ""           # "", "XX000", "crash", "hang"
    fail_detail: str = ""
    retries: int = 0


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------
class Gen:
    def __init__(self, seed, mechs, bin_files):
        self.r = random.Random(seed)
        self.mechs = mechs            # name -> dict(params, seq_params, forms)
        self.bin_files = bin_files
        self.n = 0
        self.salt = 0
        names = sorted(mechs)
        self.score_mechs = [m for m in names if "score" in mechs[m]["forms"]]
        self.weight_mechs = [m for m in names if "weights" in mechs[m]["forms"]]
        self.agg_mechs = [m for m in names if "aggregate" in mechs[m]["forms"]]
        self.seq_mechs = [m for m in names if "sequence" in mechs[m]["forms"]]
        self.all_mechs = names
        # systematic cases: every mechanism x every parameter x every hostile value
        cases = []
        for m in names:
            if m == "additive":
                forms = ["additive"]
            else:
                forms = [f for f in ("score", "weights", "sequence") if f in mechs[m]["forms"]]
            if not forms:
                continue
            keys = sorted(set(mechs[m]["params"]) | set(mechs[m]["seq_params"]))
            for k in keys:
                # every hostile number; a sample of the wrong JSON types (one code path checks those)
                kforms = [f for f in forms if k in self.form_keys(m, f)] or forms
                for v in HOSTILE_NUMS + self.r.sample(HOSTILE_JSON, 5):
                    cases.append((m, k, v, kforms))
            for w in self.r.sample(HOSTILE_PARAMS_WHOLE, 5):
                cases.append((m, None, w, forms))
        self.r.shuffle(cases)
        self.queued = []
        self.cases = cases
        self.case_pos = 0

    def form_keys(self, m, form):
        info = self.mechs[m]
        if form == "score" or (form == "weights" and info["per_row"]):
            return info["params"]
        if form == "weights":   # a normaliser over a set: no schedule params
            return {k: v for k, v in info["seq_params"].items() if k not in SCHEDULE_PARAMS}
        return info["seq_params"]

    # -- building blocks -----------------------------------------------------
    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p):
        return self.r.random() < p

    def next_salt(self):
        self.salt += 1
        return self.salt

    def scale_of(self, kind, d):
        return {"norm": 1.0, "ball": 0.9 / math.sqrt(max(d, 1)), "small": 1e-3, "tiny": 1e-40,
                "huge": 1e19, "max": 3e38, "zero": 0.0, "big": 1e3, "edge": 1.0 / math.sqrt(max(d, 1))}[kind]

    def kind(self, mech=""):
        if mech in ("poincare",):
            return self.pick(["ball"] * 6 + ["norm", "edge", "zero", "huge", "small"])
        if mech == "lorentz":
            return self.pick(["lorentz"] * 6 + ["norm", "zero", "huge"])
        return self.pick(["norm"] * 8 + ["ball", "small", "tiny", "huge", "max", "zero", "big", "lorentz"])

    def vec(self, d, kind="norm", row=None):
        """A SQL expression of one ruvector of d dims (row: reference the column j)."""
        s = self.next_salt()
        a, b = 0.37 + (s % 97) * 0.113, (s % 13) * 0.71
        jterm = "+j*%.3f" % (0.61 + (s % 7) * 0.29) if row else ""
        if kind == "lorentz" and d >= 2:
            return ("(SELECT (ARRAY[sqrt(1+sum(y*y))] || array_agg(y ORDER BY i))::real[]::ruvector FROM "
                    "(SELECT i, sin(i*%.3f%s+%.3f)*0.8 AS y FROM generate_series(1,%d) i) t)" % (a, jterm, b, d - 1))
        if kind == "lorentz":
            kind = "norm"
        sc = self.scale_of(kind, d)
        if not row and d <= 6 and self.chance(0.5):
            vals = [math.sin(i * a + b) * sc for i in range(1, d + 1)]
            return sq("[" + ",".join(fnum(v) for v in vals) + "]") + "::ruvector"
        return ("(SELECT array_agg((sin(i*%.3f%s+%.3f)*%s)::real ORDER BY i)::ruvector FROM generate_series(1,%d) i)"
                % (a, jterm, b, fnum(sc), d))

    def arr(self, n, d, kind="norm", hostile=0.15):
        """A SQL expression of a ruvector[] of n vectors of d dims, sometimes made hostile."""
        s = self.next_salt()
        a, b, c = 0.37 + (s % 97) * 0.113, (s % 13) * 0.71, 0.61 + (s % 7) * 0.29
        if kind == "lorentz" and d >= 2:
            base = ("(SELECT array_agg(x ORDER BY j) FROM (SELECT j, (SELECT (ARRAY[sqrt(1+sum(y*y))] || "
                    "array_agg(y ORDER BY i))::real[]::ruvector FROM (SELECT i, sin(i*%.3f+j*%.3f+%.3f)*0.8 AS y "
                    "FROM generate_series(1,%d) i) t) x FROM generate_series(1,%d) j) u)" % (a, c, b, d - 1, n))
        else:
            sc = self.scale_of("norm" if kind == "lorentz" else kind, d)
            if n * d <= 24 and self.chance(0.4):
                rows = []
                for j in range(1, n + 1):
                    rows.append('"[' + ",".join(fnum(math.sin(i * a + j * c + b) * sc) for i in range(1, d + 1)) + ']"')
                base = sq("{" + ",".join(rows) + "}") + "::ruvector[]"
            else:
                base = ("(SELECT array_agg((SELECT array_agg((sin(i*%.3f+j*%.3f+%.3f)*%s)::real ORDER BY i) "
                        "FROM generate_series(1,%d) i)::ruvector ORDER BY j) FROM generate_series(1,%d) j)"
                        % (a, c, b, fnum(sc), d, n))
        if self.chance(hostile):
            h = self.pick(["empty", "null_elem", "null_elem_front", "null_array", "mixed", "2d", "lbound",
                           "single_null", "dup", "mixed_front"])
            if h == "empty":
                return "'{}'::ruvector[]"
            if h == "null_elem":
                return "array_append(%s, NULL::ruvector)" % base
            if h == "null_elem_front":
                return "array_prepend(NULL::ruvector, %s)" % base
            if h == "null_array":
                return "NULL::ruvector[]"
            if h == "single_null":
                return "ARRAY[NULL]::ruvector[]"
            if h == "mixed":
                return "array_append(%s, %s)" % (base, self.vec(self.pick([d + 1, max(d - 1, 1), 1, 2 * d])))
            if h == "mixed_front":
                return "array_prepend(%s, %s)" % (self.vec(self.pick([d + 1, max(d - 1, 1), 1])), base)
            if h == "2d":
                return "ARRAY[%s, %s]" % (base, base)
            if h == "dup":
                return "(%s || %s)" % (base, base)
            if h == "lbound":
                lb = self.pick(["0", "-5", "2", "2147483646"])
                vals = ",".join('"[' + ",".join("0.1" for _ in range(min(d, 8))) + ']"' for _ in range(2))
                return sq("[%s:%d]={%s}" % (lb, int(lb) + 1, vals)) + "::ruvector[]"
        return base

    def json_num(self, default):
        """A plausible value for a parameter whose default is `default` (text)."""
        if default in ("true", "false"):
            return self.pick(["true", "false"])
        if default == "(optional)":
            return self.pick(["0", "1", "-2", "0.5", "-10", "10"])
        try:
            dv = float(default)
        except ValueError:
            return "1"
        if dv == int(dv) and abs(dv) >= 1:
            return self.pick(["1", "2", "3", "4", "8", "16", "64", str(int(dv))])
        return self.pick([default, "0.5", "1", "2", "20", "0.1"])

    def params(self, mech, keys_defaults, max_keys=3, hostile=0.5):
        """A jsonb SQL expression for the params and the hostile pairs it holds."""
        if self.chance(0.06):
            w = self.pick(HOSTILE_PARAMS_WHOLE)
            return (w if "::" in w else w + "::jsonb"), (("*", w[:40]),)
        items, pairs = [], []
        keys = list(keys_defaults)
        self.r.shuffle(keys)
        for k in keys[:self.r.randint(0, min(max_keys, len(keys)))]:
            if self.chance(hostile):
                v = self.pick(HOSTILE_VALUES)
                pairs.append((k, v[:40]))
            else:
                v = self.json_num(keys_defaults[k])
            items.append('"%s": %s' % (k, v))
        if self.chance(0.05):
            k = self.pick(["bogus", "Num_Heads", "tau ", "c", "k", "num_heads", "window", "seed"])
            v = self.pick(HOSTILE_VALUES)
            items.append('"%s": %s' % (k, v))
            pairs.append((k, v[:40]))
        return sq("{" + ", ".join(items) + "}") + "::jsonb", tuple(pairs)

    def mech_name(self, pool):
        if self.chance(0.07):
            return self.pick(EXTRA_MECHS + self.all_mechs)
        return self.pick(pool)

    def mtext(self, m):
        return "NULL::text" if m is None else sq(m)

    # -- the statements ----------------------------------------------------
    def next(self):
        idx = self.n
        self.n += 1
        if self.queued:
            st = self.queued.pop(0)
        elif self.case_pos < len(self.cases) and self.chance(0.7):
            st = self.systematic()
        else:
            st = self.random_stmt()
        st.idx = idx
        st.sql = st.sql.replace("\n", " ")
        return st

    def random_stmt(self):
        kinds = [(self.g_score, 12), (self.g_score_array, 3), (self.g_weights, 8), (self.g_attend, 6),
                 (self.g_attend_par, 2), (self.g_attend_internal, 1), (self.g_sequence, 22), (self.g_mha, 5),
                 (self.g_additive, 5), (self.g_hyper, 6), (self.g_midpoint, 4), (self.g_explain, 4),
                 (self.g_cache, 2), (self.g_softmax, 3), (self.g_types, 1), (self.g_ops, 7), (self.g_casts, 6),
                 (self.g_text_in, 5), (self.g_typmod, 3), (self.g_support, 2), (self.g_copy, 2), (self.g_guc, 2),
                 (self.g_btree, 2), (self.g_cache_race, 2), (self.g_maxdims, 1), (self.g_stored, 5),
                 (self.g_sliding, 5), (self.g_tables, 6), (self.g_catalogue, 8), (self.g_index, 8),
                 (self.g_shard, 6)]
        tot = sum(w for _, w in kinds)
        x = self.r.uniform(0, tot)
        for f, w in kinds:
            x -= w
            if x <= 0:
                return f()
        return kinds[0][0]()

    def systematic(self):
        m, k, v, forms = self.cases[self.case_pos]
        self.case_pos += 1
        form = self.pick(forms)
        ps = '{"%s": %s}' % (k, v) if k else None
        jp = (sq(ps) + "::jsonb") if k else (v if "::" in v else v + "::jsonb")
        pair = ((k or "*", v[:40]),)
        tag = "%s.%s=%s" % (m, k or "*", v[:20])
        if form == "score":
            d = self.pick([2, 4, 8, 16, 33])
            kd = self.kind(m)
            sql = "SELECT ruvector_attention_score(%s, %s, %s, %s)" % (self.vec(d, kd), self.vec(d, kd), sq(m), jp)
            return Stmt(0, sql, "ruvector_attention_score", m, pair, tag)
        if form == "weights":
            d, n = self.pick([2, 4, 8, 16]), self.pick([1, 3, 17, 64, 192])
            kd = self.kind(m)
            sql = "SELECT ruvector_attention_weights(%s, %s, %s, %s)" % (self.vec(d, kd), self.arr(n, d, kd, 0), sq(m), jp)
            return Stmt(0, sql, "ruvector_attention_weights", m, pair, tag)
        if form == "additive":
            return self.g_additive(params=(jp, pair), tag=tag)
        # sequence: a plausible shape, and for numbers also 192 queries and keys (three key blocks at
        # the default block size: the fewest with a block that is not a neighbour)
        if v in HOSTILE_NUMS:
            self.queued.append(self.g_sequence(mech=m, params=(jp, pair), tag=tag + " (192 rows)", rows=192))
        return self.g_sequence(mech=m, params=(jp, pair), tag=tag)

    def g_score(self):
        m = self.mech_name(self.score_mechs)
        d = self.pick(DIMS)
        d2 = d if self.chance(0.9) else self.pick(DIMS)
        kd = self.kind(m)
        q, k = self.vec(d, kd), self.vec(d2, kd)
        info = self.mechs.get(m)
        jp, pairs = self.params(m, info["params"] if info else {"tau": "1", "c": "1"}, hostile=0.3)
        style = self.r.randint(0, 5)
        if style == 0:
            sql = "SELECT ruvector_attention_score(%s, %s)" % (q, k)
        elif style == 1:
            sql = "SELECT ruvector_attention_score(%s, %s, %s)" % (q, k, self.mtext(m))
        elif style == 2:
            sql = ("SELECT ruvector_attention_score(query => %s, key => %s, attention_type => %s, params => %s)"
                   % (q, k, self.mtext(m), jp))
        elif style == 3:
            n = self.pick([10, 100, 300])
            sql = ("SELECT max(ruvector_attention_score(%s, %s, %s, %s)) FROM generate_series(1,%d) j"
                   % (q, self.vec(d2, kd, row=True), sq(m), jp, n))
        elif style == 4:
            sql = "SELECT ruvector_attention_score(%s, %s, %s, %s)" % (
                self.pick([q, "NULL::ruvector"]), self.pick([k, "NULL::ruvector"]),
                self.pick([sq(m), "NULL::text"]), self.pick([jp, "NULL::jsonb"]))
        else:
            sql = "SELECT ruvector_attention_score(%s, %s, %s, %s)" % (q, k, sq(m), jp)
        return Stmt(0, sql, "ruvector_attention_score", m, pairs)

    def real_arr(self):
        return self.pick(["'{}'::real[]", "'{NULL}'::real[]", "'{1,NULL}'::real[]", "'{{1,2},{3,4}}'::real[]",
                          "'{NaN,1}'::real[]", "'{Infinity}'::real[]", "'{-Infinity,1}'::real[]",
                          "'[0:1]={1,2}'::real[]", "'{3e38,3e38}'::real[]", "'{1e-45}'::real[]",
                          "ARRAY[1,2,3]::real[]", "ARRAY[0.5,0.25]::real[]", "'{0,0}'::real[]",
                          "array_fill(1::real, ARRAY[16001])", "array_fill(0.01::real, ARRAY[64])",
                          "NULL::real[]", "array_fill(1::real, ARRAY[2,2])", "'{1}'::real[]"])

    def g_score_array(self):
        m = self.mech_name(self.score_mechs)
        info = self.mechs.get(m)
        jp, pairs = self.params(m, info["params"] if info else {})
        a, b = self.real_arr(), self.real_arr()
        if self.chance(0.4):
            b = a
        sql = "SELECT ruvector_attention_score(%s, %s, %s, %s)" % (a, b, sq(m), jp)
        return Stmt(0, sql, "ruvector_attention_score(real[])", m, pairs)

    def g_weights(self):
        m = self.mech_name(self.weight_mechs)
        d, n = self.pick(DIMS), self.pick(ROWS)
        kd = self.kind(m)
        keys = self.form_keys(m, "weights") if m in self.mechs else {}
        jp, pairs = self.params(m, keys, hostile=0.3)
        q = self.vec(d if self.chance(0.92) else self.pick(DIMS), kd)
        sql = "SELECT ruvector_attention_weights(%s, %s, %s, %s)" % (q, self.arr(n, d, kd), self.mtext(m), jp)
        if self.chance(0.1):
            sql = "SELECT ruvector_attention_weights(%s, %s)" % (q, self.arr(n, d, kd))
        return Stmt(0, sql, "ruvector_attention_weights", m, pairs)

    def g_attend(self):
        m = self.mech_name(self.agg_mechs)
        d, dv, n = self.pick(DIMS), self.pick(DIMS), self.pick(ROWS + [0, 1000, 3000])
        kd = self.kind(m)
        q = self.vec(d, kd)
        k = self.vec(d, kd, row=True)
        v = self.vec(dv, "norm", row=True)
        h = self.pick(["none"] * 5 + ["null_k", "null_v", "null_q", "mixed_k", "mixed_v", "mixed_q", "mech_var",
                                      "huge", "q_var"])
        if h == "null_k":
            k = "CASE WHEN j %% 3 = 0 THEN NULL ELSE %s END" % k
        elif h == "null_v":
            v = "CASE WHEN j %% 2 = 0 THEN NULL ELSE %s END" % v
        elif h == "null_q":
            q = "CASE WHEN j = 1 THEN NULL ELSE %s END" % q
        elif h == "mixed_k":
            k = "CASE WHEN j = %d THEN %s ELSE %s END" % (max(n // 2, 1), self.vec(d + 1), k)
        elif h == "mixed_v":
            v = "CASE WHEN j = %d THEN %s ELSE %s END" % (max(n, 1), self.vec(dv + 1), v)
        elif h == "mixed_q":
            q = "CASE WHEN j = 2 THEN %s ELSE %s END" % (self.vec(d + 1), q)
        elif h == "q_var":
            q = self.vec(d, kd, row=True)
        elif h == "huge":
            k = self.vec(d, "max", row=True)
        mt = sq(m)
        if h == "mech_var":
            mt = "CASE WHEN j %% 2 = 0 THEN %s ELSE 'scaled_dot' END" % sq(m)
        args = "%s, %s, %s" % (q, k, v) if self.chance(0.3) else "%s, %s, %s, %s" % (q, k, v, mt)
        src = "generate_series(1,%d) j" % n
        shape = self.r.randint(0, 6)
        if shape == 0:
            sql = "SELECT ruvector_attend(%s) FROM %s GROUP BY j %% %d" % (args, src, self.pick([1, 2, 7, 100]))
        elif shape == 1:
            sql = "SELECT ruvector_attend(%s) OVER (ORDER BY j) FROM %s" % (args, src)
        elif shape == 2:
            sql = ("SELECT ruvector_attend(%s) OVER (ORDER BY j ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM %s"
                   % (args, src))
        elif shape == 3:
            sql = "SELECT ruvector_attend(%s) FILTER (WHERE j %% 2 = 0) FROM %s" % (args, src)
        elif shape == 4:
            sql = "SELECT ruvector_attend(%s ORDER BY j DESC) FROM %s" % (args, src)
        elif shape == 5:
            sql = "SELECT ruvector_attend(%s), ruvector_attend(%s) FROM %s" % (args, args, src)
        else:
            sql = "SELECT ruvector_attend(%s) FROM %s" % (args, src)
        return Stmt(0, sql, "ruvector_attend", m + ("" if h == "none" else "/" + h), ())

    def g_attend_par(self):
        m = self.mech_name(self.agg_mechs)
        kcol = self.pick(["k8", "k8", "kmix", "kbig", "kball", "knull"])
        vcol = self.pick(["v4", "v4", "vnull", "vmix"])
        qd = 8 if self.chance(0.9) else self.pick([7, 9, 1])
        q = self.vec(qd, "ball" if m == "poincare" else "norm")
        mt = sq(m) if self.chance(0.8) else "CASE WHEN id %% 2 = 0 THEN %s ELSE 'scaled_dot' END" % sq(m)
        grp = self.pick(["", " GROUP BY id % 4", " GROUP BY id % 1000", " WHERE id < 0"])
        fpm = self.pick(["", "SET force_parallel_mode = on; "])
        sql = ("SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
               "SET min_parallel_table_scan_size = 0; SET parallel_leader_participation = %s; %s"
               "SELECT ruvector_attend(%s, %s, %s, %s) FROM fuzz_rows%s; RESET max_parallel_workers_per_gather; "
               "RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size; "
               "RESET parallel_leader_participation; RESET force_parallel_mode"
               % (self.pick(["on", "off"]), fpm, q, kcol, vcol, mt, grp))
        return Stmt(0, sql, "ruvector_attend(parallel)", m + "/" + kcol + "/" + vcol, ())

    def g_attend_internal(self):
        """The support functions under an aggregate of our own: a moving-aggregate frame whose inverse is
        the transition itself (setup creates fuzz_attend_moving), and the real aggregate in odd frames."""
        d = self.pick([2, 3, 8])
        q, k, v = self.vec(d), self.vec(d, row=True), self.vec(self.pick([1, 2, 4]), row=True)
        n = self.pick([5, 50, 300])
        frame = self.pick(["ROWS BETWEEN 2 PRECEDING AND CURRENT ROW", "ROWS BETWEEN CURRENT ROW AND 3 FOLLOWING",
                           "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
                           "ROWS BETWEEN 1 FOLLOWING AND 2 FOLLOWING", "RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING",
                           "GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW"])
        agg = self.pick(["fuzz_attend_moving", "ruvector_attend"])
        sql = ("SELECT %s(%s, %s, %s) OVER (ORDER BY j %s) FROM generate_series(1,%d) j"
               % (agg, q, k, v, frame, n))
        return Stmt(0, sql, "ruvector_attend(window)", agg, ())

    def seq_shape(self, m, pvals):
        """(L, S, dq, dk, dv) plausible for mechanism m with the parsed param values."""
        def num(k, dflt):
            try:
                return int(float(pvals.get(k, dflt)))
            except (ValueError, OverflowError):
                return dflt
        h = num("num_heads", 1)
        if h < 1 or h > 16:
            h = 1
        hd = self.pick([1, 2, 3, 4, 8, 16])
        if m == "rope" and hd % 2:
            hd += 1
        dq = h * hd
        if m == "grouped_query":
            kv = num("num_kv_heads", 1)
            kv = kv if 1 <= kv <= h and h % kv == 0 else 1
            dk = kv * hd
        elif m == "multi_query":
            dk = hd
        else:
            dk = dq
        dv = dk if m not in ("grouped_query", "multi_query") else dk
        if self.chance(0.3):
            dv = self.pick([1, 2, 3, 5, 8]) * (dk // hd if m in ("grouped_query",) else h)
        L = self.pick(ROWS)
        S = L if self.chance(0.6) else self.pick(ROWS)
        return L, S, dq, dk, dv

    def g_sequence(self, mech=None, params=None, tag="", rows=None):
        m = mech or self.mech_name(self.seq_mechs)
        info = self.mechs.get(m)
        keys = info["seq_params"] if info else {"num_heads": "1", "block_size": "64"}
        if params:
            jp, pairs = params
        else:
            jp, pairs = self.params(m, keys, max_keys=3, hostile=0.2)
        pvals = dict(re.findall(r'"(\w+)": (-?[0-9.e]+)', jp))
        L, S, dq, dk, dv = self.seq_shape(m, pvals)
        if rows:
            L = S = rows
        elif params and self.chance(0.3):
            L = S = self.pick([130, 200, 257])
        kd = self.kind(m)
        hostile = 0.0 if params else 0.08
        Q = self.arr(L, dq if self.chance(0.95) else dq + 1, kd, hostile)
        K = self.arr(S, dk, kd, hostile)
        V = self.arr(S if self.chance(0.95) else S + 1, dv, "ball" if m == "poincare" else "norm", hostile)
        if not params and self.chance(0.3):
            X = self.arr(L, dq, kd, hostile)
            Q = K = V = X
        style = self.r.randint(0, 5)
        if style == 0 and not params:
            sql = "SELECT ruvector_attention(%s, %s, %s)" % (Q, K, V)
        elif style == 1:
            sql = "SELECT cardinality(ruvector_attention(%s, %s, %s, %s, %s))" % (Q, K, V, self.mtext(m), jp)
        elif style == 2 and not params:
            sql = ("SELECT ruvector_attention(%s, %s, %s, %s, %s)" % (
                self.pick([Q, "NULL::ruvector[]"]), self.pick([K, "NULL::ruvector[]"]), V,
                self.pick([sq(m), "NULL::text"]), self.pick([jp, "NULL::jsonb"])))
        elif style == 3:
            sql = ('SELECT ruvector_attention(queries => %s, keys => %s, "values" => %s, attention_type => %s, '
                   'params => %s)' % (Q, K, V, sq(m), jp))
        else:
            sql = "SELECT ruvector_attention(%s, %s, %s, %s, %s)" % (Q, K, V, sq(m), jp)
        return Stmt(0, sql, "ruvector_attention", m, pairs, tag)

    def g_sliding(self):
        m = self.mech_name(self.seq_mechs)
        info = self.mechs.get(m)
        keys = info["seq_params"] if info else {"num_heads": "1", "block_size": "64"}
        jp, pairs = self.params(m, keys, max_keys=2, hostile=0.2)
        n = self.pick([0, 1, 2, 7, 40, 130])
        d = self.pick([1, 2, 4, 8])
        X = self.arr(n, d, self.kind(m), 0.1) if n else "'{}'::ruvector[]"
        window = self.pick(["4", "1", "0", "-1", "256", "2147483647", "NULL::int", "3"])
        stride = self.pick(["2", "1", "0", "-5", "128", "2147483647", "4", "NULL::int"])
        if self.chance(0.2):
            sql = "SELECT count(*) FROM ruvector_sliding_attention(%s, %s, %s)" % (X, window, stride)
        else:
            sql = ("SELECT window_start, window_end, cardinality(attended) FROM ruvector_sliding_attention("
                   "embeddings => %s, window_size => %s, stride => %s, attention_type => %s, params => %s)"
                   % (X, window, stride, sq(m), jp))
        return Stmt(0, sql, "ruvector_sliding_attention", m, pairs, "")

    def g_tables(self):
        """ruvector_mha_search and ruvector_cross_attention over fuzz_rows and fuzz_q (its first 50 rows):
        each argument sensible with probability 0.85, hostile otherwise."""
        def h(good, bad):
            return self.pick(good) if not self.chance(0.15) else self.pick(bad)
        bad_rel = ["'pg_class'", "'fuzz_missing'", "NULL::regclass", "0::regclass", "'fuzz_idx'", "'fuzz_rows'"]
        bad_col = ["'kmix'", "'kbig'", "'v4'", "'id'", "NULL", "'bogus'", "'k8; DROP TABLE fuzz_rows'", "''"]
        bad_id = ["NULL", "'k8'", "'bogus'", "'id\"'"]
        heads = h(["1", "2", "4", "8"], ["3", "0", "-1", "2147483647", "NULL::int"])
        k = h(["1", "5", "10"], ["0", "-3", "2147483647", "100000", "NULL::int"])
        exact = h(["true", "false"], ["NULL::boolean"])
        if self.chance(0.45):
            q = h(["(SELECT k8 FROM fuzz_rows WHERE id = 3)", "'[1,2,3,4,5,6,7,8]'", "'[0,0,0,0,0,0,0,1e-30]'"],
                  ["'[1,2,3,4]'", "'[1e30,1e30,1e30,1e30,1e30,1e30,1e30,1e30]'", "NULL::ruvector",
                   "'[0,0,0,0,0,0,0,0]'"])
            params = h(["'{}'"], ["'{\"tau\": 1}'", "'[]'", "NULL::jsonb"])
            col = h(["'k8'", "'knull'", "'kball'"], bad_col)
            sql = ("SELECT count(*), sum(score) FROM ruvector_mha_search(table_name => %s, query => %s, "
                   "num_heads => %s, k => %s, column_name => %s, id_column => %s, params => %s, exact => %s)"
                   % (h(["'fuzz_q'", "'fuzz_rows'"], bad_rel), q, heads, k, col, h(["'id'"], bad_id), params, exact))
            return Stmt(0, sql, "ruvector_mha_search", None, (), "")
        m = self.mech_name(self.score_mechs)
        info = self.mechs.get(m)
        jp, pairs = self.params(m, info["params"] if info else {}, max_keys=2, hostile=0.1)
        if self.chance(0.03):
            jp = "'{\"num_heads\": 2}'::jsonb"
        cols = h(["(q int, d int, s float)", "(q bigint, d text, s real)", "(q text, d smallint, s float8)"],
                 ["(q int, d int)", "(q int, d int, s numeric)", "(q uuid, d int, s real)"])
        dcol = "'kball'" if m in ("poincare", "lorentz") and self.chance(0.7) else h(["'k8'", "'knull'"], bad_col)
        sql = ("SELECT count(*), sum(s) FROM ruvector_cross_attention(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) AS r%s"
               % (h(["'fuzz_q'"], bad_rel), h(["'k8'", "'kball'"], bad_col), h(["'fuzz_rows'", "'fuzz_q'"], bad_rel),
                  dcol, sq(m), k, h(["'id'"], bad_id), h(["'id'"], bad_id), jp, exact, cols))
        return Stmt(0, sql, "ruvector_cross_attention", m, pairs, "")

    def g_shard(self):
        """The per-partition forms over fuzz_parts (partitioned), fuzz_rows and fuzz_q: ruvector_search,
        ruvector_attend_table, ruvector_attend_state / ruvector_attend_merge (and the state's text form,
        mutated), and the internal aggregates ruvector_search_scan, ruvector_mha_normalisers and
        ruvector_cross_scan; each argument sensible with probability 0.85, hostile otherwise."""
        def h(good, bad):
            return self.pick(good) if not self.chance(0.15) else self.pick(bad)
        table = h(["'fuzz_parts'", "'fuzz_rows'", "'fuzz_q'"],
                  ["'pg_class'", "'fuzz_missing'", "NULL::regclass", "0::regclass", "'fuzz_idx'", "'fuzz_parts_0'"])
        q = h(["(SELECT k8 FROM fuzz_rows WHERE id = 3)", "'[1,2,3,4,5,6,7,8]'", "'[0.1,0,0,0,0,0,0,0.2]'"],
              ["'[1,2,3,4]'", "'[1e30,1e30,1e30,1e30,1e30,1e30,1e30,1e30]'", "NULL::ruvector", "'[0,0,0,0,0,0,0,0]'"])
        col = h(["'k8'", "'knull'", "'kball'"], ["'v4'", "'id'", "NULL", "'bogus'", "'k8; DROP TABLE fuzz_rows'", "''"])
        k = h(["1", "5", "10"], ["0", "-3", "2147483647", "100000", "NULL::int"])
        mech = self.mech_name(self.score_mechs)
        c = self.r.randrange(7)
        if c == 0:
            metric = h(["'inner_product'", "'cosine'", "'l2'", "'poincare'", "'<#>'", "'<=>'", "'<->'", "'<~>'"],
                       ["'dot'", "''", "NULL", "'<~>x'", "'L2'"])
            sql = ("SELECT count(*), sum(distance) FROM ruvector_search(%s, %s, %s, %s, column_name => %s, "
                   "id_column => %s, exact => %s)" % (table, q, k, metric, col, h(["'id'"], ["NULL", "'k8'", "'bogus'"]),
                                                     h(["true", "false"], ["NULL::boolean"])))
            return Stmt(0, sql, "ruvector_search", None, (), "")
        if c == 1:
            sql = ("SELECT ruvector_attend_table(%s, %s, %s, %s, %s)"
                   % (table, q, col, h(["'v4'", "'k8'", "NULL"], ["'bogus'", "'id'"]), sq(mech)))
            return Stmt(0, sql, "ruvector_attend_table", mech, (), "")
        if c == 2:
            att = h(["jsonb_build_object('attention_type', %s)" % sq(mech), "'{}'::jsonb"],
                    [x if "::" in x else x + "::jsonb" for x in HOSTILE_PARAMS_WHOLE])
            sql = ("SELECT ruvector_attend_merge(s) FROM (SELECT ruvector_attend_state(%s, k8, %s, %s) s "
                   "FROM fuzz_parts GROUP BY id %% %d) t" % (q, h(["v4", "k8"], ["kball", "knull"]), att,
                                                            self.pick([1, 2, 7, 1000])))
            return Stmt(0, sql, "ruvector_attend_state", mech, (), "")
        if c == 3:
            pos = self.r.randrange(7, 400)
            byte = self.pick(["00", "ff", "7f", "80", "41", "fe"])
            sql = ("SELECT ruvector_attend_merge(overlay(s::text PLACING '%s' FROM %d FOR 2)::ruvector_attend_state) "
                   "FROM (SELECT ruvector_attend_state('[1,0,0,0,0,0,0,1]', k8, v4) s FROM fuzz_rows WHERE id <= 30) t"
                   % (byte, pos))
            return Stmt(0, sql, "ruvector_attend_state_in", None, (), "")
        if c == 4:
            heads = h(["1", "2", "4", "8"], ["3", "0", "-1", "NULL::int", "2147483647"])
            sql = "SELECT ruvector_mha_normalisers(%s, %s, %s) FROM fuzz_parts" % (
                h(["k8", "knull"], ["v4", "kball", "NULL::ruvector"]), q, heads)
            return Stmt(0, sql, "ruvector_mha_normalisers", None, (), "")
        if c == 5:
            dist = h(["k8 <#> %s" % q, "k8 <-> %s" % q, "0.5::float8"], ["'NaN'::float8", "'Infinity'::float8", "NULL::float8"])
            sql = "SELECT length(ruvector_search_scan(id, %s, %s)) FROM fuzz_parts" % (dist, k)
            return Stmt(0, sql, "ruvector_search_scan", None, (), "")
        nq = self.pick([1, 2, 5])
        rows = ",".join("[%s]" % ",".join(self.pick(["0.1", "1", "-2", "0"]) for _ in range(8)) for _ in range(nq))
        queries = h(["ARRAY[%s]::real[]" % rows], ["ARRAY[1,2,3]::real[]", "ARRAY[[1,2],[3,4]]::real[]",
                                                    "ARRAY[['NaN',0,0,0,0,0,0,0]]::real[]", "NULL::real[]",
                                                    "'{}'::real[]", "ARRAY[[[1]]]::real[]"])
        jp, _ = self.params(mech, self.mechs.get(mech, {}).get("params", {}) if self.mechs.get(mech) else {},
                            max_keys=2, hostile=0.1)
        att = h(["jsonb_build_object('attention_type', %s, 'params', %s::jsonb)" % (sq(mech), jp)],
                [x + "::jsonb" if "::" not in x else x for x in HOSTILE_PARAMS_WHOLE])
        sql = "SELECT length(ruvector_cross_scan(id, %s, %s, %s, %s)) FROM fuzz_parts" % (
            h(["k8", "knull"], ["v4", "kball"]), queries, k, att)
        return Stmt(0, sql, "ruvector_cross_scan", mech, (), "")

    def g_mha(self):
        E = self.pick([1, 2, 3, 4, 6, 8, 16, 32])
        h = self.pick([1, 1, 2, 4, 3, 0, -1, 2147483647, E, E + 1, 16001, -2147483648])
        L, S = self.pick(ROWS), self.pick(ROWS)
        bad = self.chance(0.4)
        def rows(n, d):
            if bad and self.chance(0.3):
                return self.arr(self.pick([n - 1, n + 1, 1, max(n, 1)]), self.pick([d, d + 1, 1]), "norm", 0.3)
            return self.arr(n, d, "small" if self.chance(0.3) else "norm", 0.02)
        Q, K, V = rows(L, E), rows(S, E), rows(S, E)
        inp, outp = rows(3 * E, E), rows(E, E)
        ib = self.pick(["NULL", self.vec(3 * E), self.vec(E), self.vec(3 * E + 1), "DEFAULT"])
        ob = self.pick(["NULL", self.vec(E), self.vec(E + 1), "DEFAULT", self.vec(3 * E)])
        hs = str(h) if h >= 0 else "(%d)" % h
        if self.chance(0.2):
            hs = "NULL"
        if ib == "DEFAULT" or ob == "DEFAULT":
            sql = ("SELECT ruvector_multi_head_attention(%s, %s, %s, in_proj => %s, out_proj => %s, num_heads => %s)"
                   % (Q, K, V, inp, outp, hs))
        else:
            sql = ("SELECT ruvector_multi_head_attention(%s, %s, %s, %s, %s, %s, %s, %s)"
                   % (Q, K, V, inp, outp, hs, ib, ob))
        if self.chance(0.1):
            sql = "SELECT ruvector_multi_head_attention(%s, %s, %s, %s, %s)" % (
                self.pick([Q, "NULL"]), K, self.pick([V, "NULL"]), self.pick([inp, "NULL"]), outp)
        return Stmt(0, sql, "ruvector_multi_head_attention", "num_heads=%s" % hs, ())

    def g_additive(self, params=None, tag=""):
        a, dq, dk = self.pick([1, 2, 3, 4, 8, 16]), self.pick([1, 2, 3, 8, 16]), self.pick([1, 2, 3, 8, 16])
        bad = self.chance(0.3) and not params
        def W(n, d):
            if bad and self.chance(0.4):
                return self.arr(self.pick([n + 1, max(n - 1, 1), n]), self.pick([d + 1, d, 1]), "norm", 0.4)
            return self.arr(n, d, self.pick(["norm", "small", "huge", "norm"]) if not params else "norm", 0.03)
        wq, wk = W(a, dq), W(a, dk)
        v = self.vec(a if not bad or self.chance(0.5) else a + 1, self.pick(["norm", "huge", "zero", "norm"]))
        if params or self.chance(0.55):
            jp, pairs = params if params else self.params("additive", {"causal": "false", "block_size": "64"})
            L, S = self.pick(ROWS), self.pick(ROWS)
            dv = self.pick([1, 2, 4])
            if params and self.chance(0.5):
                L = S = self.pick([130, 192, 257])
            Q = self.arr(L, dq, "norm", 0.05 if not params else 0)
            K = self.arr(S, dk, "norm", 0.05 if not params else 0)
            Vs = self.arr(S if self.chance(0.95) else S + 1, dv, "norm", 0.05 if not params else 0)
            sql = "SELECT ruvector_additive_attention(%s, %s, %s, %s, %s, %s, %s)" % (Q, K, Vs, wq, wk, v, jp)
            return Stmt(0, sql, "ruvector_additive_attention", "additive", pairs, tag)
        q, k = self.vec(dq), self.vec(dk)
        if bad and self.chance(0.3):
            q = self.vec(dq + 1)
        sql = "SELECT ruvector_additive_score(%s, %s, %s, %s, %s)" % (q, k, wq, wk, v)
        if self.chance(0.1):
            sql = "SELECT ruvector_additive_score(query => %s, key => %s, w_query => %s, w_key => %s, v => %s)" % (
                q, k, self.pick([wq, "'{}'::ruvector[]", "ARRAY[NULL]::ruvector[]"]), wk, v)
        return Stmt(0, sql, "ruvector_additive_score", "additive", ())

    def curv(self):
        c = self.pick(CURVATURES)
        return "NULL::real" if c == "NULL" else "(%s)::real" % c

    def g_hyper(self):
        d = self.pick(DIMS)
        d2 = d if self.chance(0.9) else self.pick(DIMS)
        k1 = self.pick(["ball", "ball", "ball", "edge", "norm", "zero", "huge", "tiny", "small", "max"])
        k2 = self.pick(["ball", "ball", "edge", "norm", "zero", "small"])
        a, b = self.vec(d, k1), self.vec(d2, k2)
        f = self.pick(["dist", "exp", "log", "mob", "explog", "dist_def"])
        c = self.curv()
        if f == "dist":
            return Stmt(0, "SELECT ruvector_hyperbolic_distance(%s, %s, %s)" % (a, b, c), "ruvector_hyperbolic_distance", c, ())
        if f == "dist_def":
            return Stmt(0, "SELECT ruvector_hyperbolic_distance(a => %s, b => %s)" % (a, b), "ruvector_hyperbolic_distance", "", ())
        if f == "exp":
            return Stmt(0, "SELECT ruvector_poincare_expmap0(%s, %s)" % (a, c), "ruvector_poincare_expmap0", c, ())
        if f == "log":
            return Stmt(0, "SELECT ruvector_poincare_logmap0(%s, curvature => %s)" % (a, c), "ruvector_poincare_logmap0", c, ())
        if f == "mob":
            return Stmt(0, "SELECT ruvector_poincare_mobius_add(%s, %s, %s)" % (a, b, c), "ruvector_poincare_mobius_add", c, ())
        return Stmt(0, "SELECT ruvector_poincare_logmap0(ruvector_poincare_expmap0(%s, %s), %s)" % (a, c, c),
                    "ruvector_poincare_expmap0+logmap0", c, ())

    def g_catalogue(self):
        """The hyperboloid, MoE routing and graph attention, with hostile arguments."""
        f = self.pick(["lorentz", "to_lorentz", "to_poincare", "route", "route", "choice", "gat", "gat", "forward"])
        d = self.pick(DIMS)
        c = self.curv()
        if f == "lorentz":
            a, b = self.vec(d, self.pick(["norm", "zero", "huge", "tiny", "ball"])), self.vec(d, "norm")
            return Stmt(0, "SELECT ruvector_lorentz_distance(%s, %s, %s)" % (a, b, c), "ruvector_lorentz_distance", c, ())
        if f == "to_lorentz":
            v = self.vec(d, self.pick(["ball", "edge", "norm", "zero", "huge", "tiny"]))
            return Stmt(0, "SELECT ruvector_poincare_to_lorentz(%s, %s)" % (v, c), "ruvector_poincare_to_lorentz", c, ())
        if f == "to_poincare":
            v = self.vec(d, self.pick(["ball", "norm", "zero", "huge"]))
            return Stmt(0, "SELECT ruvector_lorentz_to_poincare(ruvector_poincare_to_lorentz(%s, %s), %s)" % (v, c, c)
                        if self.chance(0.5) else "SELECT ruvector_lorentz_to_poincare(%s, %s)" % (v, c),
                        "ruvector_lorentz_to_poincare", c, ())
        num = lambda good, bad: self.pick(good) if not self.chance(0.2) else self.pick(bad)
        ints_bad = ["0", "-1", "2147483647", "(-2147483648)", "NULL::int", "4097"]
        model = num(["NULL", "'fz_gate'"], ["'nope'", "''", "'fz_gat'", "'fz_gate; DROP TABLE fuzz_rows'"])
        if f == "route":
            v = self.vec(self.pick([8, 8, d]), self.pick(["norm", "zero", "huge", "tiny", "small"]))
            params = num(["'{}'", "'{\"router\": \"switch\"}'", "'{\"router\": \"topk\"}'"],
                         ["'{\"router\": \"expert_choice\"}'", "'[]'", "NULL::jsonb", "'{\"router\": 1}'",
                          "'{\"k\": 2}'"])
            sql = "SELECT ruvector_moe_route(%s, %s, %s, %s, %s)" % (
                v, num(["NULL", "1", "2", "4", "8"], ints_bad), num(["NULL", "1", "2"], ints_bad), model, params)
            return Stmt(0, sql, "ruvector_moe_route", model, ())
        if f == "choice":
            n = self.pick(ROWS)
            arr = self.arr(n, self.pick([8, 8, d]), self.pick(["norm", "small", "zero"]), 0.1)
            sql = "SELECT count(*), sum(weight) FROM ruvector_moe_expert_choice(%s, %s, %s, %s)" % (
                arr, num(["NULL", "2", "4"], ints_bad), num(["1.0", "2", "0.5"], ["0", "-1", "'NaN'", "'Infinity'", "1e300"]),
                model)
            return Stmt(0, sql, "ruvector_moe_expert_choice", model, ())
        gmodel = num(["NULL", "'fz_gat'"], ["'nope'", "'fz_gate'", "''"])
        nodes = num(["'fuzz_nodes'"], ["'fuzz_edges'", "'fuzz_rows'", "'pg_class'", "NULL::regclass"])
        edges = num(["'fuzz_edges'"], ["'fuzz_nodes'", "'fuzz_rows'", "'pg_class'", "NULL::regclass"])
        if f == "forward":
            sql = "SELECT count(*) FROM ruvector_gat_forward(%s, %s, %s)" % (nodes, edges, gmodel)
            return Stmt(0, sql, "ruvector_gat_forward", gmodel, ())
        sql = ("SELECT count(*), sum(attention_score) FROM ruvector_gat_search(%s, %s, %s, num_heads => %s, k => %s, "
               "model => %s, hops => %s)" % (nodes, edges, num(["1", "7", "40"], ["0", "999", "NULL::bigint", "(-1)"]),
                                            num(["NULL", "1", "2", "4"], ints_bad + ["3"]),
                                            num(["5", "10", "100"], ints_bad), gmodel,
                                            num(["1", "2", "3"], ["0", "17", "-1", "NULL::int", "16"])))
        return Stmt(0, sql, "ruvector_gat_search", gmodel, ())

    def g_index(self):
        """The ruvector_attention index: ORDER BY through it with hostile queries and settings, filtered scans,
        CREATE INDEX with hostile options, the check and info functions, the Poincare operator and rescale."""
        num = lambda good, bad: self.pick(good) if not self.chance(0.2) else self.pick(bad)
        f = self.pick(["order", "order", "order", "filter", "check", "create", "create", "dist", "rescale"])
        d = self.pick([8, 8, 8, 8, 4, 1, 9])
        if f in ("order", "filter"):
            op, col = self.pick([("<#>", "k8"), ("<=>", "knull"), ("<~>", "kball"), ("<->", "k8"), ("<#>", "kball")])
            kind = self.pick(["norm", "zero", "huge", "tiny", "small", "ball", "edge"])
            q = self.pick([self.vec(d, kind), "NULL::ruvector", "(SELECT %s FROM fuzz_rows WHERE id = 7)" % col])
            ef = num(["10", "40", "100"], ["1", "0", "1000", "1001", "-1", "2147483647"])
            lim = num(["1", "10", "50"], ["0", "20001", "NULL", "(-1)"])
            where = ""
            if f == "filter":
                where = " WHERE id %% %s = %s" % (self.pick(["7", "20", "997", "20000", "3"]), self.pick(["0", "1", "5"]))
            mst = num(["20000", "100"], ["1", "0", "2147483647"])
            sql = ("SET enable_seqscan = off; SET ruvector_jit.ef_search = %s; SET ruvector_jit.max_scan_tuples = %s; "
                   "SELECT count(*) FROM (SELECT id FROM fuzz_rows%s ORDER BY %s %s %s LIMIT %s) t; "
                   "RESET enable_seqscan; RESET ruvector_jit.ef_search; RESET ruvector_jit.max_scan_tuples"
                   % (ef, mst, where, col, op, q, lim))
            return Stmt(0, sql, "index scan", op, ())
        if f == "check":
            rel = num(["'fuzz_attn_ip'", "'fuzz_attn_cos'", "'fuzz_attn_ball'"],
                      ["'fuzz_idx'", "'fuzz_rows'", "'pg_class'", "NULL::regclass", "0::regclass", "'fuzz_q'"])
            fn = self.pick(["SELECT * FROM ruvector_index_check(%s)", "SELECT ruvector_index_info(%s)"])
            return Stmt(0, fn % rel, "ruvector_index_check/info", None, ())
        if f == "dist":
            a = self.vec(d, self.pick(["ball", "edge", "norm", "zero", "huge", "tiny"]))
            b = self.vec(self.pick([d, d, d + 1]), self.pick(["ball", "zero", "norm"]))
            sql = self.pick(["SELECT %s <~> %s", "SELECT ruvector_poincare_distance(%s, %s)"]) % (a, b)
            return Stmt(0, sql, "ruvector_poincare_distance", None, ())
        if f == "rescale":
            v = self.vec(d, self.pick(["ball", "norm", "zero", "huge", "tiny"]))
            c = self.curv()
            return Stmt(0, "SELECT ruvector_poincare_rescale(%s, %s)" % (v, c), "ruvector_poincare_rescale", c, ())
        opclass = self.pick(["", "ruvector_ip_ops", "ruvector_cosine_ops", "ruvector_l2_ops", "ruvector_poincare_ops",
                             "ruvector_ops", "int4_ops"])
        opts = []
        if self.chance(0.6):
            opts.append("attention_type = %s" % sq(self.pick(["flash", "scaled_dot", "cosine", "l2", "poincare", "cross",
                                                                "multi_head", "softmax", "", "FLASH", "x" * 300])))
        if self.chance(0.4):
            h = self.pick([1, 2, 4, 8, 3, 0, -1, 16001])
            opts.append("num_heads = %d" % h)
            if self.chance(0.8):
                opts.append("head_dim = %d" % self.pick([2, 4, 8, 1, 0, -2, 5]))
        if self.chance(0.4):
            opts.append("m = %s" % self.pick(["2", "4", "16", "100", "1", "101", "0", "-5", "1e3", "'x'"]))
        if self.chance(0.4):
            opts.append("ef_construction = %s" % self.pick(["4", "8", "64", "1000", "3", "1001", "0"]))
        with_ = " WITH (%s)" % ", ".join(opts) if opts else ""
        td = self.pick(["8", "8", "4", "", "1952", "1953"])
        col = self.pick(["kball", "kball", "k8", "kmix", "knull", "kbig"]) if td in ("8", "") else "NULL::ruvector"
        mwm = self.pick(["64MB", "1MB", "1MB"])
        sql = ("BEGIN; SET LOCAL maintenance_work_mem = '%s'; CREATE TEMP TABLE fz_ix (id int, v ruvector%s) ON COMMIT DROP; "
               "INSERT INTO fz_ix SELECT id, %s FROM fuzz_rows WHERE id <= %d; "
               "CREATE INDEX fz_ix_v ON fz_ix USING ruvector_attention (v %s)%s; "
               "INSERT INTO fz_ix SELECT id, %s FROM fuzz_rows WHERE id > 19900; "
               "SET LOCAL enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM fz_ix ORDER BY v <#> "
               "(SELECT v FROM fz_ix WHERE v IS NOT NULL LIMIT 1) LIMIT 5) t; "
               "DELETE FROM fz_ix WHERE id %% 3 = 0; SELECT * FROM ruvector_index_check('fz_ix_v'); ROLLBACK"
               % (mwm, "(%s)" % td if td else "", col, self.pick([0, 1, 50, 700, 3000]), opclass, with_, col))
        return Stmt(0, sql, "CREATE INDEX ruvector_attention", opclass or "default", ())

    def g_midpoint(self):
        d, n = self.pick(DIMS), self.pick(ROWS)
        kd = self.pick(["ball", "ball", "ball", "edge", "norm", "zero", "small"])
        P = self.arr(n, d, kd, 0.25)
        c = self.curv()
        if self.chance(0.4):
            return Stmt(0, "SELECT ruvector_poincare_midpoint(%s, %s)" % (P, c), "ruvector_poincare_midpoint", c, ())
        m = n if self.chance(0.7) else self.pick([n + 1, max(n - 1, 0), 1, 0])
        w = self.pick([
            "(SELECT array_agg(abs(sin(j))::real) FROM generate_series(1,%d) j)" % m,
            "array_fill(0::real, ARRAY[%d])" % max(m, 0), "array_fill((-1)::real, ARRAY[%d])" % max(m, 0),
            "array_fill('NaN'::real, ARRAY[%d])" % max(m, 0), "array_fill('Infinity'::real, ARRAY[%d])" % max(m, 0),
            "array_fill(3e38::real, ARRAY[%d])" % max(m, 0), "array_fill(1e-45::real, ARRAY[%d])" % max(m, 0),
            "array_append(array_fill(1::real, ARRAY[%d]), NULL)" % max(m - 1, 0),
            "'{}'::real[]", "NULL::real[]", "array_fill(1::real, ARRAY[%d, 2])" % max(m, 1),
            "(SELECT array_agg(sin(j)::real) FROM generate_series(1,%d) j)" % m])
        sql = "SELECT ruvector_poincare_midpoint(%s, %s, %s)" % (P, w, c)
        if self.chance(0.3):
            sql = "SELECT ruvector_poincare_midpoint(points => %s, weights => %s)" % (P, w)
        return Stmt(0, sql, "ruvector_poincare_midpoint(weights)", c, ())

    def g_explain(self):
        m = self.mech_name(self.all_mechs + ["poincare_distance", "poincare_expmap0", "poincare_logmap0",
                                             "poincare_mobius_add", "l2_distance", "negative_inner_product",
                                             "cosine_distance", "norm", "additive"])
        dims = self.pick(["1", "2", "3", "8", "64", "384", "0", "-1", "16000", "16001", "2147483647",
                          "-2147483648", "NULL", "4096", "65536", "7"])
        info = self.mechs.get(m)
        keys = {}
        if info:
            keys = dict(info["seq_params"]) if "sequence" in info["forms"] else {}
            keys.update(info["params"])
        jp, pairs = self.params(m, keys)
        isa = self.pick(["NULL", "NULL", "'avx512'", "'avx2'", "'neon'", "'generic'", "''", "'AVX2'", "'x86_64'",
                         "'sse'", sq("a" * 2000)])
        f = "ruvector_jit_explain(%s, %s, %s, %s)" % (self.mtext(m) if self.chance(0.97) else "NULL", dims, jp, isa)
        sql = self.pick(["SELECT count(*) FROM %s" % f, "SELECT * FROM %s" % f,
                         "SELECT sum(length(l)) FROM %s AS l" % f,
                         "SELECT * FROM ruvector_jit_explain(%s, %s)" % (self.mtext(m), dims)])
        big = dims in ("4096", "16000", "16001", "65536", "2147483647")
        return Stmt(0, sql, "ruvector_jit_explain", ("dims=" + dims) if big else (m + "/" + dims), pairs)

    def g_stored(self):
        """Values read from a table (fz_st, made per batch): short headers, compressed, toasted."""
        m = self.pick(self.score_mechs)
        sm = self.pick(self.seq_mechs)
        wm = self.pick(self.weight_mechs)
        dims = self.pick(["3", "8", "4000", "16000", "3"])
        w = "ruvector_dims(v) = %s" % dims
        c = self.curv()
        sql = self.pick([
            "SELECT ruvector_dims(v), ruvector_norm(v), cardinality(v::real[]), length(ruvector_send(v)), "
            "length(v::text) FROM fz_st",
            "SELECT count(a.v <-> b.v), sum(a.v <#> b.v), max(a.v <=> b.v), count(a.v + b.v), count(a.v * b.v), "
            "count(a.v - b.v), sum(ruvector_cmp(a.v, b.v)) FROM fz_st a JOIN fz_st b ON ruvector_dims(a.v) = "
            "ruvector_dims(b.v)",
            "SELECT count(a.v <-> b.v) FROM fz_st a, fz_st b WHERE a.id %% 7 = 0",
            "SELECT sum(ruvector_attention_score(a.v, b.v, %s)) FROM fz_st a JOIN fz_st b ON ruvector_dims(a.v) = "
            "ruvector_dims(b.v)" % sq(m),
            "SELECT ruvector_attention_weights((SELECT v FROM fz_st WHERE %s LIMIT 1), array_agg(v ORDER BY id), "
            "%s) FROM fz_st WHERE %s" % (w, sq(wm), w),
            "SELECT cardinality(ruvector_attention(array_agg(v ORDER BY id), array_agg(v ORDER BY id DESC), "
            "array_agg(v ORDER BY id), %s)) FROM fz_st WHERE %s" % (sq(sm), w),
            "SELECT cardinality(ruvector_attention(array_agg(v ORDER BY id), array_agg(v ORDER BY id), "
            "array_agg(v ORDER BY id), %s)) FROM fz_st" % sq(sm),
            "SELECT ruvector_dims(ruvector_attend(v, v, v, %s)) FROM fz_st GROUP BY ruvector_dims(v)" % sq(m),
            "SELECT ruvector_attend((SELECT v FROM fz_st WHERE id = 1), v, v) FROM fz_st",
            "SELECT count(ruvector_hyperbolic_distance(ruvector_poincare_expmap0(v, %s), "
            "ruvector_poincare_expmap0(v))), count(ruvector_poincare_logmap0(ruvector_poincare_expmap0(v))), "
            "count(ruvector_poincare_mobius_add(v, v, %s)) FROM fz_st" % (c, c),
            "SELECT ruvector_dims(ruvector_poincare_midpoint(array_agg(v), %s)) FROM fz_st WHERE %s" % (c, w),
            "SELECT count(v::ruvector(3)) FROM fz_st",
            "SELECT count(DISTINCT v), count(*) FILTER (WHERE v > '[0]') FROM fz_st",
            "SELECT count(ruvector_to_float4(v, %s, true)), count(ruvector(v, 3, false)) FROM fz_st"
            % self.pick(["-1", "3", "4000"]),
            "SELECT cardinality(ruvector_multi_head_attention(array_agg(v), array_agg(v), array_agg(v), "
            "(SELECT array_agg(v) FROM fz_st WHERE id <= 9), (SELECT array_agg(v) FROM fz_st WHERE id <= 3), "
            "1)) FROM fz_st WHERE id <= 40",
            "SELECT ruvector_additive_score(a.v, b.v, (SELECT array_agg(v) FROM fz_st WHERE id <= 4), "
            "(SELECT array_agg(v) FROM fz_st WHERE id <= 4), '[1,2,3,4]') FROM fz_st a, fz_st b "
            "WHERE a.id = 1 AND b.id = 2",
            "UPDATE fz_st SET v = v + v WHERE id %% 2 = 0; SELECT count(*) FROM fz_st WHERE v IS NOT NULL",
        ])
        return Stmt(0, sql.replace("%%", "%"), "stored_values", dims, ())

    def g_maxdims(self):
        """The largest vectors (up to 16000 dims), few of them: the kernels' compile time must stay
        interruptible. Labelled by dims only, so one hang per size is reported (and then skipped)."""
        d = self.pick([1024, 4096, 15999, 16000])
        def v(salt):
            return ("(SELECT array_agg((sin(i*%.3f)*%s)::real)::ruvector FROM generate_series(1,%d) i)"
                    % (0.3 + salt * 0.17, fnum(0.5 / math.sqrt(d)), d))
        def a(n, salt):
            return "ARRAY[%s]" % ", ".join(v(salt + j) for j in range(n))
        m = self.pick(self.seq_mechs)
        f = self.r.randint(0, 5)
        if f == 0:
            sm = self.pick(self.score_mechs)
            sql = "SELECT ruvector_attention_score(%s, %s, %s)" % (v(1), v(2), sq(sm))
            return Stmt(0, sql, "maxdims:ruvector_attention_score", "d=%d" % d, ())
        if f == 1:
            sql = "SELECT cardinality(ruvector_attention(%s, %s, %s, %s))" % (a(3, 1), a(3, 4), a(3, 7), sq(m))
            return Stmt(0, sql, "maxdims:ruvector_attention", "d=%d" % d, ())
        if f == 2:
            sql = "SELECT cardinality(ruvector_attention(%s, %s, %s, %s))" % (a(1, 1), a(2, 4), a(2, 7), sq(m))
            return Stmt(0, sql, "maxdims:ruvector_attention(1 query)", "d=%d" % d, ())
        if f == 3:
            wm = self.pick(self.weight_mechs)
            sql = "SELECT ruvector_attention_weights(%s, %s, %s)" % (v(1), a(3, 2), sq(wm))
            return Stmt(0, sql, "maxdims:ruvector_attention_weights", "d=%d" % d, ())
        if f == 4:
            sql = self.pick(["SELECT %s <-> %s, %s <#> %s, %s <=> %s, ruvector_norm(%s)" % (
                                 v(1), v(2), v(1), v(2), v(1), v(2), v(3)),
                             "SELECT ruvector_dims(ruvector_poincare_mobius_add(ruvector_poincare_expmap0(%s), %s))"
                             % (v(1), v(2)),
                             "SELECT ruvector_hyperbolic_distance(%s, %s)" % (v(1), v(2))])
            return Stmt(0, sql, "maxdims:distances", "d=%d" % d, ())
        sql = "SELECT ruvector_attend(%s, %s, %s) FROM generate_series(1,3) j" % (v(1), v(2), v(3))
        return Stmt(0, sql, "maxdims:ruvector_attend", "d=%d" % d, ())

    def g_cache(self):
        sql = self.pick(["SELECT * FROM ruvector_jit_cache()", "SELECT ruvector_jit_cache_reset()",
                         "SELECT count(*), sum(hits) FROM ruvector_jit_cache()",
                         "SELECT ruvector_jit_cache_reset(), ruvector_jit_cache_reset()",
                         "SELECT * FROM ruvector_jit_cache(), ruvector_jit_cache_reset()"])
        return Stmt(0, sql, "ruvector_jit_cache", "", ())

    def g_cache_race(self):
        """Kernels looked up once per call site, then the cache is reset or evicted under them."""
        d = self.pick([2, 4, 8, 16])
        n = self.pick([5, 30, 100])
        m1, m2 = self.pick(self.score_mechs), self.pick(self.score_mechs)
        kd1, kd2 = ("ball" if m1 == "poincare" else "lorentz" if m1 == "lorentz" else "norm",
                    "ball" if m2 == "poincare" else "lorentz" if m2 == "lorentz" else "norm")
        pre = self.pick(["", "SET ruvector_jit.cache_size = 1; ", "SET ruvector_jit.cache_size = 2; "])
        body = self.pick([
            "SELECT sum(ruvector_attention_score(%s, %s, %s)), sum(ruvector_attention_score(%s, %s, %s)), "
            "max(ruvector_jit_cache_reset()) FROM generate_series(1,%d) j" % (
                self.vec(d, kd1), self.vec(d, kd1, row=True), sq(m1), self.vec(d + 1, kd2),
                self.vec(d + 1, kd2, row=True), sq(m2), n),
            "SELECT ruvector_jit_cache_reset(), %s <-> %s, ruvector_norm(%s), %s <=> %s FROM generate_series(1,%d) j" % (
                self.vec(d), self.vec(d, row=True), self.vec(d + 1, row=True), self.vec(d + 2),
                self.vec(d + 2, row=True), n),
            "SELECT count(*) FROM (SELECT ruvector_attention(%s, %s, %s, %s), ruvector_jit_cache_reset() "
            "FROM generate_series(1,%d) j) t" % (self.arr(5, d), self.arr(5, d), self.arr(5, d),
                                                  sq(self.pick(self.seq_mechs)), self.pick([3, 20])),
            "SELECT sum(ruvector_attention_score(%s, %s, 'scaled_dot')) FROM generate_series(1,%d) j "
            "WHERE ruvector_jit_cache_reset() >= 0" % (self.vec(d), self.vec(d, row=True), n),
        ])
        return Stmt(0, pre + body + ("; RESET ruvector_jit.cache_size" if pre else ""),
                    "cache_reset_under_query", m1 + "/" + m2, ())

    def g_softmax(self):
        a = self.pick([self.real_arr(), "(SELECT array_agg(((j %% 7) * 100)::real) FROM generate_series(1,%d) j)"
                       % self.pick([1, 100, 100000]), "array_fill(-3e38::real, ARRAY[3])",
                       "ARRAY[3e38, -3e38]::real[]", "ARRAY[-1e30, -1e30]::real[]", "'{NaN}'::real[]"])
        return Stmt(0, "SELECT ruvector_softmax(%s)" % a, "ruvector_softmax", "", ())

    def g_types(self):
        return Stmt(0, self.pick(["SELECT * FROM ruvector_attention_types()",
                                  "SELECT count(*) FROM ruvector_attention_types()",
                                  "SELECT name, parameters FROM ruvector_attention_types() ORDER BY 1"]),
                    "ruvector_attention_types", "", ())

    def g_ops(self):
        d = self.pick(DIMS)
        d2 = d if self.chance(0.8) else self.pick(DIMS)
        k1 = self.pick(["norm", "norm", "zero", "huge", "max", "tiny", "small", "big"])
        k2 = self.pick(["norm", "norm", "zero", "huge", "max", "tiny", "small", "big"])
        a, b = self.vec(d, k1), self.vec(d2, k2)
        op = self.pick(["<->", "<#>", "<=>", "+", "-", "*", "=", "<>", "<", "<=", ">", ">="])
        fn = self.pick(["ruvector_l2_distance", "ruvector_negative_inner_product", "ruvector_cosine_distance",
                        "ruvector_add", "ruvector_sub", "ruvector_mul", "ruvector_lt", "ruvector_le", "ruvector_eq",
                        "ruvector_ne", "ruvector_ge", "ruvector_gt", "ruvector_cmp"])
        sql = self.pick([
            "SELECT %s %s %s" % (a, op, b),
            "SELECT %s(%s, %s)" % (fn, a, b),
            "SELECT ruvector_dims(%s), ruvector_norm(%s)" % (a, a),
            "SELECT ruvector_norm(%s)" % self.pick(["'[3e38,3e38]'", "'[1e-45]'", "'[0]'", a]),
            "SELECT max(%s %s %s) FROM generate_series(1,%d) j" % (a, self.pick(["<->", "<#>", "<=>"]),
                                                                   self.vec(d2, k2, row=True), self.pick([10, 1000])),
            "SELECT %s %s %s" % (a, op, self.pick(["'[1]'", "'[1,2,3]'", "NULL::ruvector", "'[3e38]'"])),
            "SELECT ruvector_dims(%s)" % self.pick(["'[1]'::ruvector", "NULL::ruvector", a]),
        ])
        return Stmt(0, sql, "operators", op + "/" + fn, ())

    def g_casts(self):
        typ = self.pick(["integer[]", "real[]", "double precision[]", "numeric[]"])
        lit = self.pick(["'{}'", "'{NULL}'", "'{1,NULL}'", "'{{1,2},{3,4}}'", "'{1,2,3}'", "'[0:1]={1,2}'",
                         "'{2147483647,-2147483648}'", "'{1e39}'", "'{1e-46}'", "'{NaN}'", "'{Infinity}'",
                         "'{-Infinity}'", "'{1e400}'", "'{0.5,0.25}'", "'{1}'", "'{3.4028235e38}'", "'{1e-320}'"])
        if typ in ("integer[]",) and any(t in lit for t in ("e", "N", "I", ".")):
            lit = "'{1,2}'"
        if typ != "numeric[]" and "1e400" in lit:
            lit = "'{1}'"
        src = "%s::%s" % (lit, typ)
        if self.chance(0.15):
            src = "array_fill(1::%s, ARRAY[%d])" % (typ[:-2], self.pick([16000, 16001, 100000]))
        tm = self.pick(TYPMODS)
        tms = tm if not tm.startswith("-") else "(%s)" % tm
        v = self.vec(self.pick(DIMS), self.pick(["norm", "zero", "max"]))
        sql = self.pick([
            "SELECT %s::ruvector" % src,
            "SELECT %s::ruvector(%s)" % (src, self.pick(["1", "2", "3", "16000"])),
            "SELECT array_to_ruvector(%s, %s, %s)" % (src, tms, self.pick(["true", "false"])),
            "SELECT ruvector_to_float4(%s, %s, %s)" % (v, tms, self.pick(["true", "false"])),
            "SELECT ruvector(%s, %s, %s)" % (v, tms, self.pick(["true", "false"])),
            "SELECT %s::real[]" % v,
            "SELECT %s::ruvector(%s)" % (v, self.pick(["1", "2", "3", "8", "16000"])),
            "SELECT %s::real[]::ruvector::real[]" % v,
            "INSERT INTO fz_3 VALUES (%s)" % self.pick([src, v, "'[1,2,3]'"]),
            "INSERT INTO fz_3 SELECT %s" % src,
        ])
        return Stmt(0, sql, "casts", typ, ())

    def g_text_in(self):
        t = self.pick(BAD_TEXT_VECTORS)
        sql = self.pick([
            "SELECT %s::ruvector" % sq(t),
            "SELECT %s::ruvector(2)" % sq(t),
            "SELECT ('[' || repeat('1,', %d) || '1]')::ruvector" % self.pick([15998, 15999, 16000, 100000]),
            "SELECT ('[' || repeat(' ', 100000) || '1]')::ruvector",
            "SELECT ('[' || repeat('1e-46,', 100) || '1]')::ruvector",
            "SELECT ruvector_dims(('[' || repeat('0.5,', 15999) || '1]')::ruvector)",
            "SELECT %s::ruvector::text" % sq(t),
            "INSERT INTO fz_any VALUES (%s)" % sq(t),
            "SELECT ARRAY[%s]::ruvector[]" % sq(t),
            "SELECT %s::ruvector[]" % sq("{" + '"' + t.replace('"', "") + '"' + "}"),
        ])
        return Stmt(0, sql, "ruvector_in", t[:20], ())

    def g_typmod(self):
        tm = self.pick(["0", "(-1)", "16001", "2147483647", "1,2", "'a'", "1.5", "'3'", "16000", "1", "''",
                        "'-1'", "'99999999999999999999'", "a", "3, 'x'"])
        sql = self.pick([
            "SELECT '[1,2,3]'::ruvector(%s)" % tm,
            "CREATE TEMP TABLE fz_tm (v ruvector(%s)); DROP TABLE IF EXISTS fz_tm" % tm,
            "SELECT ruvector_typmod_in(%s::cstring[])" % self.pick(
                ["'{3}'", "'{}'", "'{a}'", "'{1,2}'", "'{-1}'", "'{0}'", "'{99999999999}'", "'{16001}'",
                 "'{\" 3\"}'", "'{3x}'", "'{{1},{2}}'", "ARRAY[NULL]", "'{2147483647}'", "'{\"\"}'", "'[0:0]={3}'"]),
        ])
        return Stmt(0, sql, "ruvector_typmod_in", tm, ())

    def g_support(self):
        v = self.vec(self.pick([1, 2, 3, 64]), self.pick(["norm", "max", "tiny"]))
        sql = self.pick([
            "SELECT ruvector_in(%s, 0, %s)" % (sq(self.pick(BAD_TEXT_VECTORS + ["[1,2]", "[1,2,3]"])),
                                               self.pick(TYPMODS).replace("-", "-")),
            "SELECT ruvector_out(%s)" % v,
            "SELECT ruvector_send(%s)" % v,
            "SELECT ruvector_in(NULL, 0, -1)",
            "SELECT ruvector_in('[1]', NULL, NULL)",
            "SELECT length(ruvector_send(('[' || repeat('1,', 15999) || '1]')::ruvector))",
        ])
        return Stmt(0, sql, "ruvector_in/out/send/recv", "", ())

    def g_copy(self):
        f = self.pick(self.bin_files)
        t = self.pick(["fz_any", "fz_3"])
        sql = self.pick(["COPY %s FROM %s WITH (FORMAT binary)" % (t, sq(f)),
                         "COPY %s FROM %s WITH (FORMAT binary); SELECT count(*), sum(ruvector_dims(v)) FROM %s" % (t, sq(f), t)])
        return Stmt(0, sql, "ruvector_recv(COPY binary)", os.path.basename(f), ())

    def g_guc(self):
        return Stmt(0, self.pick(GUCS), "GUC", "", ())

    def g_btree(self):
        n = self.pick([10, 100, 1000])
        vv = "CASE WHEN j %% 5 = 0 THEN %s WHEN j %% 7 = 0 THEN NULL ELSE %s END" % (
            self.vec(self.pick([1, 3, 4]), "norm", row=True), self.vec(3, self.pick(["norm", "zero", "max"]), row=True))
        sql = self.pick([
            "SELECT count(DISTINCT v) FROM (SELECT %s AS v FROM generate_series(1,%d) j) t" % (vv, n),
            "SELECT v, count(*) FROM (SELECT %s AS v FROM generate_series(1,%d) j) t GROUP BY v ORDER BY v LIMIT 5"
            % (vv, n),
            "INSERT INTO fz_any SELECT %s FROM generate_series(1,%d) j; CREATE INDEX ON fz_any (v); "
            "SELECT count(*) FROM fz_any WHERE v = '[1,2,3]'; TRUNCATE fz_any" % (vv, n),
            "SELECT v FROM (SELECT %s AS v FROM generate_series(1,%d) j) t ORDER BY v DESC NULLS LAST LIMIT 3" % (vv, n),
        ])
        return Stmt(0, sql, "btree/ordering", "", ())


# ---------------------------------------------------------------------------
# Binary COPY files for the receive function
# ---------------------------------------------------------------------------
def make_bin_files(r, d):
    hdr = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
    trailer = struct.pack("!h", -1)
    files = []

    def tuple_bytes(payload, length=None):
        return struct.pack("!h", 1) + struct.pack("!i", len(payload) if length is None else length) + payload

    def vec(dim, unused, floats):
        return struct.pack("!hH", dim, unused) + b"".join(struct.pack("!f", f) if isinstance(f, float) else f
                                                           for f in floats)

    nan, inf = float("nan"), float("inf")
    cases = [
        vec(3, 0, [1.0, 2.0, 3.0]), vec(0, 0, []), vec(-1, 0, []), vec(1, 1, [1.0]), vec(1, 0xFFFF, [1.0]),
        vec(1, 0, [nan]), vec(2, 0, [inf, 1.0]), vec(1, 0, [-inf]), vec(3, 0, [1.0]), vec(1, 0, [1.0, 2.0]),
        vec(16001, 0, [1.0] * 4), vec(32767, 0, []), vec(-32768, 0, []), vec(2, 0, [b"\x00\x00\x00\x01", 1.0]),
        vec(2, 0, [b"\x7f\xc0\x00\x01", 1.0]), b"\x00", b"", vec(4, 0, [1.0, 2.0, 3.0, 4.0]),
        vec(16000, 0, [0.5] * 16000), vec(3, 0, [3.4e38, -3.4e38, 1e-45]),
    ]
    for i, c in enumerate(cases):
        body = tuple_bytes(c)
        if i % 5 == 4:
            body = tuple_bytes(c, len(c) + 4)  # a length longer than the data
        p = os.path.join(d, "case%02d.bin" % i)
        with open(p, "wb") as f:
            f.write(hdr + body + trailer)
        files.append(p)
    # random garbage after a valid header
    for i in range(12):
        n = r.randint(0, 40)
        payload = bytes(r.randint(0, 255) for _ in range(n))
        dim = r.choice([0, 1, 2, 3, n // 4, 65535, 100])
        c = struct.pack("!HH", dim & 0xFFFF, r.choice([0, 0, 1])) + payload
        p = os.path.join(d, "rand%02d.bin" % i)
        with open(p, "wb") as f:
            f.write(hdr + tuple_bytes(c) + trailer)
        files.append(p)
    for p in files:
        os.chmod(p, 0o644)
    return files


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------
def find_bin(name):
    p = os.path.join(PG_BIN, name)
    if os.access(p, os.X_OK):
        return p
    w = shutil.which(name)
    if not w:
        sys.exit("fuzz: %s not found (%s or PATH)" % (name, PG_BIN))
    return w


class Runner:
    def __init__(self, args):
        self.a = args
        self.psql = find_bin("psql")
        self.env = dict(os.environ)
        self.env.setdefault("PGCONNECT_TIMEOUT", "10")
        self.env["PGOPTIONS"] = ""
        self.log_off = self.log_size()
        self.log_warned = False
        self.our_pids = {}         # backend pid -> batch no
        self.killed_pids = set()
        self.global_fails = []

    # -- server log --------------------------------------------------------
    def log_size(self):
        try:
            return os.stat(PG_LOG).st_size
        except OSError:
            return 0

    def read_log(self):
        try:
            with open(PG_LOG, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.log_off:   # rotated or truncated
                    self.log_off = 0
                f.seek(self.log_off)
                data = f.read()
                self.log_off += len(data)
                return data.decode("utf-8", "replace")
        except OSError as e:
            if not self.log_warned:
                print("fuzz: warning: cannot read %s (%s); crashes are detected by psql only" % (PG_LOG, e),
                      file=sys.stderr)
                self.log_warned = True
            return ""

    def crashes_in_log(self):
        """[(pid or None, line, detail)] of crash lines since the last read, minus the backends we killed."""
        out = []
        lines = self.read_log().splitlines()
        for i, line in enumerate(lines):
            if CRASH_RE.search(line):
                m = PID_IN_LOG_RE.search(line)
                pid = int(m.group(1)) if m else None
                if pid is not None and pid in self.killed_pids:
                    continue
                if "terminated by signal 9" in line and pid is None:
                    continue
                detail = ""
                if i + 1 < len(lines) and "Failed process was running" in lines[i + 1]:
                    detail = lines[i + 1].split("Failed process was running:", 1)[1].strip()
                out.append((pid, line.strip(), detail))
        return out

    # -- psql helpers ------------------------------------------------------
    def psql_c(self, sql, db=None, timeout=30):
        try:
            p = subprocess.run([self.psql, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", db or self.a.dbname,
                                "-c", sql], capture_output=True, text=True, env=self.env, timeout=timeout)
            return p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            return 124, "", "timeout"

    def wait_server(self, limit=120, own_db=True):
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            rc, out, _ = self.psql_c("SELECT 1", db="postgres", timeout=15)
            if rc == 0 and out.strip() == "1":
                if not own_db:
                    return True
                rc, out, _ = self.psql_c("SELECT 1", timeout=15)
                if rc == 0:
                    return True
            time.sleep(1)
        return False

    def setup(self):
        if not self.wait_server(limit=self.a.wait_server, own_db=False):
            rc, out, err = self.psql_c("SELECT 1", db="postgres")
            sys.exit("fuzz: the server does not answer: %s" % err.strip())
        rc, out, err = self.psql_c("SELECT 1 FROM pg_database WHERE datname = %s" % sq(self.a.dbname), db="postgres")
        if rc != 0:
            sys.exit("fuzz: cannot query pg_database: %s" % err.strip())
        if out.strip() != "1":
            p = subprocess.run([find_bin("createdb"), self.a.dbname], capture_output=True, text=True, env=self.env)
            if p.returncode != 0:
                sys.exit("fuzz: createdb %s failed: %s" % (self.a.dbname, p.stderr.strip()))
        # (Re)create the extension when the installed script changed since this database last saw it.
        try:
            with open(ext_script(), "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()[:16]
        except OSError:
            sha = "unknown"
        rc, have, _ = self.psql_c("SELECT sha FROM fuzz_script")
        sql = "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS ruvector_jit;"
        if rc != 0 or have.strip() != sha:
            sql = ("SET client_min_messages = warning; DROP TABLE IF EXISTS fuzz_rows, fuzz_nodes, fuzz_edges, fuzz_parts CASCADE; "
                   "DROP EXTENSION IF EXISTS ruvector_jit CASCADE; CREATE EXTENSION ruvector_jit; "
                   "DROP TABLE IF EXISTS fuzz_script; CREATE TABLE fuzz_script AS SELECT %s::text AS sha;" % sq(sha))
        rc, _, err = self.psql_c(sql, timeout=120)
        if rc != 0:
            sys.exit("fuzz: CREATE EXTENSION ruvector_jit failed: %s" % err.strip())
        rc, out, _ = self.psql_c("SELECT count(*) FROM fuzz_rows")
        if rc != 0 or out.strip() != "20000":
            vec = lambda d, a, s: ("(SELECT array_agg((sin(i*%s+j*0.37)*%s)::real ORDER BY i)::ruvector "
                                   "FROM generate_series(1,%d) i)" % (a, s, d))
            sql = ("SET client_min_messages = warning; DROP TABLE IF EXISTS fuzz_rows CASCADE; "
                   "CREATE TABLE fuzz_rows AS SELECT j AS id, %s AS k8, %s AS v4, "
                   "CASE WHEN j %% 997 = 0 THEN %s ELSE %s END AS kmix, %s AS kbig, %s AS kball, "
                   "CASE WHEN j %% 10 = 0 THEN NULL ELSE %s END AS knull, "
                   "CASE WHEN j %% 10 = 0 THEN NULL ELSE %s END AS vnull, "
                   "CASE WHEN j = 19999 THEN %s ELSE %s END AS vmix "
                   "FROM generate_series(1,20000) j; ANALYZE fuzz_rows;"
                   % (vec(8, "0.7", "1"), vec(4, "1.3", "1"), vec(7, "0.7", "1"), vec(8, "0.9", "1"),
                      vec(8, "0.7", "1e19"), vec(8, "0.7", "0.3"), vec(8, "1.1", "1"), vec(4, "0.3", "1"),
                      vec(5, "0.3", "1"), vec(4, "0.3", "1")))
            rc, _, err = self.psql_c(sql, timeout=300)
            if rc != 0:
                sys.exit("fuzz: creating fuzz_rows failed: %s" % err.strip())
        # the table functions' small query table, and an index name that is not a table
        self.psql_c("CREATE OR REPLACE VIEW fuzz_q AS SELECT * FROM fuzz_rows WHERE id <= 50; "
                    "CREATE INDEX IF NOT EXISTS fuzz_idx ON fuzz_rows (id)")
        # the ruvector_attention indexes the index generator scans
        self.psql_c("SET client_min_messages = warning; "
                    "CREATE INDEX IF NOT EXISTS fuzz_attn_ip ON fuzz_rows USING ruvector_attention (k8); "
                    "CREATE INDEX IF NOT EXISTS fuzz_attn_cos ON fuzz_rows USING ruvector_attention (knull ruvector_cosine_ops); "
                    "CREATE INDEX IF NOT EXISTS fuzz_attn_ball ON fuzz_rows USING ruvector_attention (kball ruvector_poincare_ops)",
                    timeout=300)
        # a partitioned copy of fuzz_rows' first 3000 rows, for the per-partition (sharding) forms
        self.psql_c("SET client_min_messages = warning; "
                    "CREATE TABLE IF NOT EXISTS fuzz_parts (id bigint NOT NULL, k8 ruvector, knull ruvector, "
                    "kball ruvector, v4 ruvector) PARTITION BY HASH (id); "
                    "CREATE TABLE IF NOT EXISTS fuzz_parts_0 PARTITION OF fuzz_parts FOR VALUES WITH (MODULUS 2, REMAINDER 0); "
                    "CREATE TABLE IF NOT EXISTS fuzz_parts_1 PARTITION OF fuzz_parts FOR VALUES WITH (MODULUS 2, REMAINDER 1); "
                    "INSERT INTO fuzz_parts SELECT id, k8, knull, kball, v4 FROM fuzz_rows WHERE id <= 3000 "
                    "AND NOT EXISTS (SELECT 1 FROM fuzz_parts)", timeout=300)
        # a small graph (fuzz_rows' first 40 rows as nodes) and models for the catalogue's functions
        self.psql_c("SET client_min_messages = warning; "
                    "CREATE TABLE IF NOT EXISTS fuzz_nodes AS SELECT id::bigint AS id, k8 AS f FROM fuzz_rows WHERE id <= 40; "
                    "CREATE TABLE IF NOT EXISTS fuzz_edges AS SELECT 1 + (j * 7) % 40 AS src, 1 + (j * 13) % 41 AS dst "
                    "FROM generate_series(1, 160) j; "
                    "SELECT ruvector_model_load('fz_gate', 'moe_gate', ARRAY[ruvector_tensor('weight', "
                    "(SELECT array_agg(k8::real[]) FROM fuzz_rows WHERE id <= 4))], replace => true); "
                    "SELECT ruvector_model_load('fz_gat', 'gat', ARRAY[ruvector_tensor('lin.weight', "
                    "(SELECT array_agg(k8::real[]) FROM fuzz_rows WHERE id <= 8)), "
                    "ruvector_tensor('att_src', ARRAY[[[1,0,1,0],[0,1,0,1]]]::real[]), "
                    "ruvector_tensor('att_dst', ARRAY[[[0,1,1,0],[1,0,0,1]]]::real[])], replace => true)")
        # the aggregate's support functions in a moving-aggregate frame, with the transition as its inverse
        self.psql_c("CREATE OR REPLACE AGGREGATE fuzz_attend_moving(ruvector, ruvector, ruvector) ("
                    "SFUNC = ruvector_attend_transition, STYPE = internal, FINALFUNC = ruvector_attend_final, "
                    "MSFUNC = ruvector_attend_transition, MINVFUNC = ruvector_attend_transition, MSTYPE = internal, "
                    "MFINALFUNC = ruvector_attend_final)")
        rc, out, err = self.psql_c("SELECT name, parameters, sql_forms, per_row FROM ruvector_attention_types()")
        if rc != 0:
            sys.exit("fuzz: ruvector_attention_types() failed: %s" % err.strip())
        mechs = {}
        for line in out.strip().splitlines():
            name, params, forms, per_row = line.split("|")
            pd = dict(re.findall(r"(\w+)=([^,]+)", params))
            m = re.search(r"adds ([^)]*)\)", forms)
            added = [x.strip() for x in m.group(1).split(",")] if m else []
            seq = dict(pd)
            for k in added:
                if k:
                    seq.setdefault(k, {"causal": "false", "midpoint": "false"}.get(k, "1"))
            fs = set()
            if name == "additive":
                fs.add("additive")
            else:
                for f in ("score", "weights", "aggregate", "sequence"):
                    if re.search(r"\b%s\b" % f, forms):
                        fs.add(f)
            mechs[name] = {"params": pd if per_row == "t" else {}, "seq_params": seq, "forms": fs,
                           "per_row": per_row == "t"}
        if not mechs:
            sys.exit("fuzz: ruvector_attention_types() returned no rows")
        return mechs

    # -- one batch ---------------------------------------------------------
    def script(self, stmts):
        out = ["\\set ON_ERROR_STOP off", "\\set VERBOSITY verbose", "\\set SHOW_CONTEXT never",
               "\\pset pager off", "SET client_min_messages = error;",
               "SET statement_timeout = %d;" % int(self.a.timeout * 1000), "SET lock_timeout = '5s';",
               "SELECT pg_backend_pid() AS fz_pid \\gset", "\\warn @@pid :fz_pid",
               "CREATE TEMP TABLE fz_any (v ruvector); CREATE TEMP TABLE fz_3 (v ruvector(3));",
               # stored values: short (1-byte) varlena headers, compressed inline (STORAGE main/extended),
               # compressed or not out of line (TOAST)
               "CREATE TEMP TABLE fz_st (id int, v ruvector); ALTER TABLE fz_st ALTER COLUMN v SET STORAGE %s;"
               % self.storage,
               "INSERT INTO fz_st SELECT j, (SELECT array_agg((sin(i*0.7+j)*0.4)::real)::ruvector "
               "FROM generate_series(1, CASE WHEN j <= 40 THEN 3 WHEN j <= 50 THEN 8 ELSE 4000 END) i) "
               "FROM generate_series(1,52) j;",
               "INSERT INTO fz_st VALUES (53, array_fill(0.25::real, ARRAY[4000])::ruvector), "
               "(54, array_fill(0.001::real, ARRAY[16000])::ruvector), (55, '[0.1,0.2,0.3]');"]
        for i, s in enumerate(stmts):
            out.append("\\warn @@stmt %d" % i)
            out.append(s.sql.rstrip().rstrip(";") + ";")
        out.append("\\warn @@end")
        return "\n".join(out) + "\n"

    def run_batch(self, stmts, batch_no):
        """Runs stmts; returns the statements to run again (after a hang, crash or lost connection)."""
        a = self.a
        self.storage = ("extended", "main", "external")[batch_no % 3]
        p = subprocess.Popen([self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", a.dbname],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=self.env, start_new_session=True)
        q = queue.Queue()
        script = self.script(stmts).encode()

        def writer():
            try:
                p.stdin.write(script)
                p.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass

        def reader():
            for raw in p.stderr:
                q.put((time.monotonic(), raw.decode("utf-8", "replace").rstrip("\n")))
            q.put((time.monotonic(), None))

        threading.Thread(target=writer, daemon=True).start()
        threading.Thread(target=reader, daemon=True).start()
        t0 = time.monotonic()
        cur, start, pid, ended = None, t0, None, False
        lines = collections.defaultdict(list)
        handled = False          # a hang was handled: no crash classification
        rest_from = None         # index from which statements run again
        limit = a.timeout + a.margin

        def close(i, t):
            stmts[i].duration = t - start

        while True:
            try:
                t, line = q.get(timeout=0.25)
            except queue.Empty:
                now = time.monotonic()
                if cur is None and now - t0 > 60:
                    if pid is not None:
                        # connected, but the batch's own setup (temp tables of vectors) never finished
                        self.global_fails.append("the setup of batch %d hung (backend %d)" % (batch_no, pid))
                        self.psql_c("SELECT pg_terminate_backend(%d)" % pid, db="postgres", timeout=15)
                    # else never connected: give up on this batch, run it again
                    self.kill_psql(p)
                    return stmts, "connect"
                if isinstance(cur, int) and not handled and now - start > limit:
                    handled = True
                    st = stmts[cur]
                    res = self.handle_hang(p, pid, q, st, start)
                    if res == "finished":
                        handled = False   # the statement returned (late): continue the batch
                        continue
                    rest_from = cur + 1
                    break
                continue
            if line is None:
                break
            if line.startswith("@@pid "):
                try:
                    pid = int(line.split()[1])
                    self.our_pids[pid] = batch_no
                except ValueError:
                    pass
                continue
            if line.startswith("@@stmt "):
                if isinstance(cur, int):
                    close(cur, t)
                cur, start = int(line.split()[1]), t
                continue
            if line == "@@end":
                if isinstance(cur, int):
                    close(cur, t)
                cur, ended = "end", True
                continue
            lines[cur].append(line)
        if not handled:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_psql(p)
        # errors per statement
        lost_at, transient = None, False
        for i, ls in lines.items():
            if not isinstance(i, int):
                continue
            st = stmts[i]
            for ln in ls:
                m = ERR_RE.match(ln)
                if m and not st.sqlstate:
                    st.sqlstate = m.group(2) or "?????"
                    st.message = m.group(3)
                if m and m.group(2) in TRANSIENT_STATES:
                    transient = True
                if CONN_LOST_RE.search(ln) and lost_at is None:
                    lost_at = i
            if st.sqlstate == "XX000" and not st.fail:
                loc = next((ln.split("LOCATION:", 1)[1].strip() for ln in ls if ln.startswith("LOCATION:")), "")
                st.fail, st.fail_detail = "XX000", st.message + (" [%s]" % loc if loc else "")
        if handled:
            self.check_log(stmts, None, batch_no)
            return stmts[rest_from:], "hang"
        if ended:
            self.check_log(stmts, None, batch_no)
            return [], "ok"
        # psql ended before the end marker: the connection went away
        if not isinstance(cur, int):
            self.check_log(stmts, None, batch_no)
            return stmts, "connect"
        i = cur if lost_at is None else lost_at
        time.sleep(1.0)
        crashed = self.check_log(stmts, i, batch_no)
        st = stmts[i]
        if crashed:
            return stmts[i + 1:], "crash"
        if transient:
            # told why (shutdown, another process crashed, recovery): run it again
            st.sqlstate, st.message = "", ""
            st.retries += 1
            if st.retries > 3:
                st.fail, st.fail_detail = "crash", "connection lost on every try (last: transient)"
                return stmts[i + 1:], "crash"
            return stmts[i:], "transient"
        st.fail = "crash"
        st.fail_detail = "psql lost the connection: " + " | ".join(lines[i][-3:])
        return stmts[i + 1:], "crash"

    def check_log(self, stmts, cur, batch_no):
        """Attributes crash lines of the server log to statements; True when one was attributed to stmts[cur]."""
        found = False
        for pid, line, detail in self.crashes_in_log():
            target = None
            if pid is not None and self.our_pids.get(pid) == batch_no and cur is not None:
                target = stmts[cur]
            elif detail:
                target = next((s for s in stmts if s.sql.strip().rstrip(";") in detail or
                               detail.rstrip(";") in s.sql), None)
            if target is None and cur is not None:
                target = stmts[cur]     # a parallel worker of this statement, most likely
            if target is not None:
                target.fail = "crash"
                target.fail_detail = line + ((" -- running: " + detail[:200]) if detail else "")
                if cur is not None and target is stmts[cur]:
                    found = True
            else:
                self.global_fails.append(line + ((" -- running: " + detail[:200]) if detail else ""))
        return found

    def kill_psql(self, p):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def backend_alive(self, pid):
        rc, out, _ = self.psql_c("SELECT count(*) FROM pg_stat_activity WHERE pid = %d" % pid, db="postgres",
                                 timeout=15)
        return rc != 0 or out.strip() != "0"

    def handle_hang(self, p, pid, q, st, start):
        """Cancel, terminate, then kill the backend running st. Returns 'finished' when the statement
        returned after the cancel (then the batch goes on), else 'killed'."""
        el = time.monotonic() - start
        st.duration = el
        st.fail = "hang"
        st.fail_detail = "still running %.1f s after it started (statement_timeout %.1f s)" % (el, self.a.timeout)
        if pid is None:
            self.kill_psql(p)
            return "killed"
        self.psql_c("SELECT pg_cancel_backend(%d)" % pid, db="postgres", timeout=15)
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end:
            try:
                t, line = q.get(timeout=0.25)
            except queue.Empty:
                continue
            if line is None:
                break
            if line.startswith("@@stmt ") or line == "@@end":
                # it returned after the cancel: put the marker back for the batch loop
                st.fail_detail = ("returned %.1f s after it started, statement_timeout %.1f s (ended after "
                                  "a pg_cancel_backend at %.1f s)" % (t - start, self.a.timeout, el))
                st.duration = t - start
                m = ERR_RE.match(line)
                q.put((t, line))
                return "finished"
            m = ERR_RE.match(line)
            if m and not st.sqlstate:
                st.sqlstate, st.message = m.group(2) or "?????", m.group(3)
        self.psql_c("SELECT pg_terminate_backend(%d)" % pid, db="postgres", timeout=15)
        time.sleep(3)
        how = "cancel and terminate ignored"
        if self.backend_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                self.killed_pids.add(pid)
                how += "; killed with SIGKILL (the postmaster restarts all backends)"
            except OSError as e:
                how += "; SIGKILL failed (%s): the backend is still running" % e
                self.global_fails.append("hung backend %d could not be killed: %s" % (pid, st.sql[:200]))
        else:
            how = "ignored the cancel, ended by pg_terminate_backend"
        st.fail_detail += "; " + how
        self.kill_psql(p)
        if not self.wait_server(limit=120):
            print("fuzz: the server did not come back after a hang", file=sys.stderr)
        return "killed"


def normalise(msg):
    msg = re.sub(r'"[^"]*"', '"…"', msg)
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", msg)


def short(sql, n):
    return sql if len(sql) <= n else sql[:n] + " …(%d chars)" % len(sql)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=None, help="time budget (default 60 unless --count)")
    ap.add_argument("--count", type=int, default=None, help="number of statements")
    ap.add_argument("--skip", type=int, default=0, help="skip the first K generated statements")
    ap.add_argument("--dbname", default="ruvector_fuzz")
    ap.add_argument("--batch", type=int, default=250, help="statements per psql process")
    ap.add_argument("--timeout", type=float, default=2.0, help="statement_timeout in seconds")
    ap.add_argument("--margin", type=float, default=5.0, help="seconds past the timeout that make a hang")
    ap.add_argument("--wait-server", type=float, default=60, help="seconds to wait for the server at start")
    ap.add_argument("--print", action="store_true", help="print the statements, run nothing")
    ap.add_argument("--save", default=None, help="write every failing statement to this file")
    ap.add_argument("--trace", default=None, help="write every statement with its outcome to this file")
    ap.add_argument("--replay", default=None,
                    help="run the statements of this file (one a line, as --save writes them) instead")
    ap.add_argument("--verbose", "-v", action="store_true")
    a = ap.parse_args()
    if a.seconds is None and a.count is None:
        a.seconds = 60.0

    runner = Runner(a)
    mechs = runner.setup()
    tmpdir = tempfile.mkdtemp(prefix="ruvector_fuzz_")
    os.chmod(tmpdir, 0o755)
    try:
        return fuzz(a, runner, mechs, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def fuzz(a, runner, mechs, tmpdir):
    gen = Gen(a.seed, mechs, make_bin_files(random.Random(a.seed), tmpdir))
    for _ in range(a.skip):
        gen.next()
    if a.replay:
        with open(a.replay) as f:
            lines = [ln.strip().rstrip(";") for ln in f if ln.strip() and not ln.startswith("--")]
        replay = [Stmt(i, ln, "replay", ln[:40]) for i, ln in enumerate(lines)]
        gen.next = lambda: replay.pop(0) if replay else None
        a.count = len(lines) if a.count is None else min(a.count, len(lines))
        a.seconds = None
    if a.print:
        for _ in range(a.count or 100):
            st = gen.next()
            print("-- #%d %s %s\n%s;" % (st.idx, st.func, st.mech, st.sql))
        return 0
    t_start = time.monotonic()
    done, pending, skipped = [], [], 0
    hung_classes = []          # (func, mech, pairs) of statements that hung
    generated = 0
    batch_no, bad_connects, rate = 0, 0, 0.0

    def budget_left():
        if a.count is not None and generated >= a.count and not pending:
            return False
        if a.seconds is not None and time.monotonic() - t_start >= a.seconds:
            return False
        return True

    def same_class(st):
        """A statement like one that hung already: same function and label, and (when the hang had
        hostile params) the same hostile params among its own."""
        for f, m, pairs in hung_classes:
            if st.func == f and st.mech == m and set(pairs) <= set(st.pairs):
                return True
        return False

    while budget_left():
        batch = list(pending)
        pending = []
        size = a.batch
        if a.seconds is not None and rate:
            # near the end, batches that fit the time left (a batch always runs to its end)
            left = a.seconds - (time.monotonic() - t_start)
            size = max(10, min(a.batch, int(left * rate)))
        while len(batch) < size and (a.count is None or generated < a.count):
            st = gen.next()
            generated += 1
            if same_class(st):
                skipped += 1
                continue
            batch.append(st)
        if not batch:
            break
        batch_no += 1
        t_b = time.monotonic()
        again, how = runner.run_batch(batch, batch_no)
        again_ids = {id(s) for s in again}
        ran = [s for s in batch if id(s) not in again_ids]
        for s in ran:
            if s.fail == "hang":
                hung_classes.append((s.func, s.mech, s.pairs))
        done.extend(ran)
        if how == "ok" and time.monotonic() > t_b:
            rate = len(ran) / (time.monotonic() - t_b)
        if a.verbose:
            print("fuzz: batch %d: %d statements in %.1f s (%s)" % (batch_no, len(ran), time.monotonic() - t_b, how),
                  file=sys.stderr)
        if how in ("connect", "transient", "crash"):
            if how == "connect":
                bad_connects += 1
                if bad_connects > 5:
                    runner.global_fails.append("could not run a batch: the server refused connections 6 times")
                    break
            if not runner.wait_server(limit=120):
                runner.global_fails.append("the server did not come back (after: %s)" % how)
                break
        else:
            bad_connects = 0
        pending = [s for s in again if not same_class(s)]
        skipped += len(again) - len(pending)
    # a last look at the log (a crash after the last batch)
    time.sleep(0.5)
    for pid, line, detail in runner.crashes_in_log():
        runner.global_fails.append(line + ((" -- running: " + detail[:200]) if detail else ""))
    return report(a, done, skipped, runner, gen, time.monotonic() - t_start, batch_no)


def report(a, done, skipped, runner, gen, elapsed, batches):
    by_state = collections.Counter(s.sqlstate or "ok" for s in done)
    failed = [s for s in done if s.fail]
    timeouts = [s for s in done if s.sqlstate == "57014" and not s.fail]
    print("fuzz: seed %d, %d statements in %.1f s (%d psql batches), %d skipped as repeats of a hang"
          % (a.seed, len(done), elapsed, batches, skipped))
    covered = len({s.systematic.replace(" (192 rows)", "") for s in done if s.systematic})
    print("fuzz: systematic mechanism x parameter x hostile value cases run: %d of %d" % (covered, len(gen.cases)))
    print("fuzz: results by SQLSTATE: " + ", ".join("%s %d" % kv for kv in sorted(by_state.items())))
    funcs = collections.Counter(s.func for s in done)
    if a.verbose:
        print("fuzz: statements by function: " + ", ".join("%s %d" % kv for kv in sorted(funcs.items())))
        for state in sorted(by_state):
            if state.startswith("42"):
                ex = next(s for s in done if s.sqlstate == state)
                print("fuzz: example %s: %s\n    %s" % (state, ex.message, short(ex.sql, 400)))
    if timeouts:
        groups = collections.defaultdict(list)
        for s in timeouts:
            groups[(s.func, s.mech)].append(s)
        print("fuzz: %d statements cancelled by statement_timeout (57014), not failures:" % len(timeouts))
        for (f, m), ss in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            ids = " ".join("#%d" % s.idx for s in ss[:12]) + (" …" if len(ss) > 12 else "")
            print("  %dx %s %s (%s), e.g.: %s" % (len(ss), f, m, ids, short(ss[0].sql, 300)))
    slow = sorted((s for s in done if not s.fail and s.duration > a.timeout + 0.5), key=lambda s: -s.duration)
    if slow:
        print("fuzz: %d statements ran past statement_timeout but within the margin; the slowest: #%d %.1f s %s"
              % (len(slow), slow[0].idx, slow[0].duration, short(slow[0].sql, 200)))
    # Not failures, but worth a look: a parameter that took a negative number without an error.
    accepted = collections.defaultdict(set)
    for s in done:
        if s.systematic and not s.sqlstate and not s.fail and s.pairs:
            k, v = s.pairs[0]
            if re.match(r"^-(?!0$)[0-9]", v):
                accepted["%s %s.%s" % (s.func, s.mech, k)].add(v)
    if accepted:
        print("fuzz: note (not failures): parameters that accepted a negative number without an error:")
        for key, vs in sorted(accepted.items()):
            print("  %s = %s" % (key, ", ".join(sorted(vs))))
    if failed or runner.global_fails:
        print("fuzz: FAILURES")
        groups = collections.defaultdict(list)
        for s in failed:
            key = (s.fail, s.func, s.mech.split("/")[0] if s.fail != "hang" else s.mech,
                   normalise(s.fail_detail) if s.fail == "XX000" else "")
            groups[key].append(s)
        for (kind, f, m, msg), ss in sorted(groups.items()):
            print("- %s in %s %s: %d statement(s)" % (kind, f, m, len(ss)))
            for s in ss[:2]:
                print("    #%d: %s" % (s.idx, s.fail_detail))
                print("      %s" % short(s.sql, 1500))
        for g in runner.global_fails:
            print("- %s" % g)
    if a.trace:
        with open(a.trace, "w") as f:
            for s in sorted(done, key=lambda s: s.idx):
                f.write("-- #%d %s %s [%s] %.3f s %s %s %s\n%s;\n" % (
                    s.idx, s.func, s.mech, s.systematic, s.duration, s.sqlstate or "ok", s.message[:300],
                    s.fail, s.sql))
    if a.save and (failed or runner.global_fails):
        with open(a.save, "w") as f:
            for s in failed:
                f.write("-- #%d %s: %s\n%s;\n" % (s.idx, s.fail, s.fail_detail.replace("\n", " "), s.sql))
            for g in runner.global_fails:
                f.write("-- %s\n" % g)
    nfail = len(failed) + len(runner.global_fails)
    print("fuzz: %d passed, %d failed" % (len(done) - len(failed), nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
