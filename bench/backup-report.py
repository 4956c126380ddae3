#!/usr/bin/env python3
"""Medians of bench/backup.sh's results.tsv as the markdown table docs/performance.md quotes."""
import csv
import statistics
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
by = defaultdict(list)
for r in rows:
    by[(r["tool"], r["step"])].append(r)


def med(tool, step, field):
    values = [float(r[field]) for r in by.get((tool, step), [])]
    return statistics.median(values) if values else None


def fmt(v, unit=" s"):
    return "-" if v is None else f"{v:.2f}{unit}"


steps = [("full", "full backup"), ("incr", "incremental backup after pgbench"), ("restore", "full restore"), ("delta", "delta restore")]
print("| step | PgDr | pgBackRest 2.45 | pg_basebackup | PgDr vs pgBackRest | PgDr vs pg_basebackup | PgDr CPU | pgBackRest CPU |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for step, name in steps:
    p, b, bb = med("pgdr", step, "seconds"), med("pgbackrest", step, "seconds"), med("pg_basebackup", step, "seconds")
    ratio = f"{b / p:.2f}x faster" if p and b else "-"
    ratio_bb = f"{p / bb:.2f}x its time" if p and bb else "-"
    n = len(by.get(("pgdr", step), []))
    print(f"| {name} (median of {n}) | {fmt(p)} | {fmt(b)} | {fmt(bb)} | {ratio} | {ratio_bb} | {fmt(med('pgdr', step, 'cpu'))} | {fmt(med('pgbackrest', step, 'cpu'))} |")

print()
print("| peak RSS of a full backup | PgDr | pgBackRest |")
print("| --- | --- | --- |")
for (tool, step), rs in sorted(by.items()):
    if tool == "pgdr" and step.startswith("full-"):
        other = by.get(("pgbackrest", step))
        print(f"| {step[5:]} (database {int(rs[0]['bytes']) / 1e6:.0f} MB) | {int(rs[0]['rss_kb']) / 1024:.1f} MB | {int(other[0]['rss_kb']) / 1024:.1f} MB |" if other else
              f"| {step[5:]} (database {int(rs[0]['bytes']) / 1e6:.0f} MB) | {int(rs[0]['rss_kb']) / 1024:.1f} MB | - |")
for tool in ("pgdr", "pgbackrest"):
    peak = max((int(r["rss_kb"]) for r in rows if r["tool"] == tool and r["step"] in ("full", "incr", "restore", "delta")), default=0)
    print(f"\npeak RSS over the rounds, {tool}: {peak / 1024:.1f} MB", end="")
print()
