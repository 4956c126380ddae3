#!/usr/bin/env python3
"""Turns results.tsv / facts.tsv of one run into the markdown summary (stdout)."""
import sys, os, collections
d = sys.argv[1]
# A run of only some steps (STEPS="memory startup", ROUNDS=0) has facts but no throughput rows.
tsv = os.path.join(d, "results.tsv")
raw = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()] if os.path.exists(tsv) else []
# Rows measured in several rounds (ROUNDS in wal-archive.sh) are reported once: the median round, with the range.
groups = collections.OrderedDict()
for r in raw:
    groups.setdefault((r[0], r[1], r[2]), []).append(r)
rows = []
for same in groups.values():
    same = sorted(same, key=lambda r: float(r[6]))
    median = list(same[len(same) // 2])
    if len(same) > 1:
        median[8] = f"median of {len(same)} rounds ({float(same[0][6]):.0f}-{float(same[-1][6]):.0f} MB/s); " + median[8]
    rows.append(median)
facts = [l.rstrip("\n").split("\t", 1) for l in open(os.path.join(d, "facts.tsv")) if l.strip()] if os.path.exists(os.path.join(d, "facts.tsv")) else []
print("| tool | mode | compression | segments | seconds | segments/s | MB/s of WAL | note |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | --- |")
for tool, mode, comp, n, b, sps, mbs, secs, note in rows:
    print(f"| {tool} | {mode} | {comp} | {n} | {secs} | {sps} | {mbs} | {note} |")
print()
print("| fact | value |")
print("| --- | --- |")
for k, v in facts:
    print(f"| {k} | {v} |")
# goal checks that can be computed mechanically
def rounds(tool, mode, comp):
    """MB/s of every round of one row, in the order measured."""
    return [float(r[6]) for r in raw if r[0] == tool and r[1] == mode and r[2] == comp]
def limit_modes(comp):
    """The machine-limit rows of one compression; the limit is the best of them."""
    return ("zstd -3 -T0", "zstd -3 x2 processes") if comp.startswith("zstd") else ("lz4 -1 (1 thread)", "lz4 -1 x2 processes")
def get(tool, mode, comp):
    for r in rows:
        if r[0] == tool and r[1] == mode and r[2] == comp:
            return float(r[6])
    return None
print()
for comp in ("zstd:3", "lz4:1"):
    pb_push = get("pgbackrest", "push async (process-max=2)", comp)
    pb_get = get("pgbackrest", "fetch async (process-max=2)", comp)
    pb_push_s = get("pgbackrest", "push sync", comp)
    pb_get_s = get("pgbackrest", "fetch sync", comp)
    for v in ("jit", "aot"):
        push = get(f"pgdr-{v}", "push sync", comp); fetch = get(f"pgdr-{v}", "fetch sync", comp)
        if push and pb_push_s:
            print(f"- {comp} pgdr-{v} push sync / pgBackRest push sync = {push / pb_push_s:.2f}x; fetch sync / fetch sync = {fetch / pb_get_s:.2f}x")
    # The managed ports against the system libraries, and a KMS-wrapped data key against a key file, same build.
    for what in ("push sync", "fetch sync"):
        native, managed, kms = get("pgdr-aot", what, comp), get("pgdr-aot-managed", what, comp), get("pgdr-aot-kms", what, comp)
        if native and managed:
            print(f"- {comp} {what}: managed codecs {managed:.0f} MB/s = {managed / native:.2f}x the system library ({native:.0f})")
        if native and kms:
            print(f"- {comp} {what}: KMS-wrapped data key {kms:.0f} MB/s = {kms / native:.2f}x a key file ({native:.0f})"
                  + (f", {kms / (pb_push_s if what == 'push sync' else pb_get_s):.2f}x pgBackRest" if (pb_push_s and pb_get_s) else ""))
    e2 = get("pgdr-engine", "push, 2 in parallel", comp); e4 = get("pgdr-engine", "push, 4 in parallel", comp)
    limit = max((x for x in (get("machine", m, comp) for m in limit_modes(comp)) if x), default=None)
    for v in ("aot", "jit"):
        push = get(f"pgdr-{v}", "push async (parallel=4)", comp); fetch = get(f"pgdr-{v}", "fetch async (parallel=4)", comp)
        if push and pb_push and fetch and pb_get:
            line = f"- {comp} pgdr-{v} async push {push:.0f} MB/s = {push / pb_push:.2f}x pgBackRest ({pb_push:.0f}); async fetch {fetch:.0f} MB/s = {fetch / pb_get:.2f}x ({pb_get:.0f})"
            print(line + (f"; push = {push / limit * 100:.0f}% of the machine limit {limit:.0f} MB/s" if limit else ""))
            # The VM's speed drifts between rounds: the ratio within each round says more than the ratio of medians.
            for what, mode, pb_mode in (("push", "push async (parallel=4)", "push async (process-max=2)"), ("fetch", "fetch async (parallel=4)", "fetch async (process-max=2)")):
                ours, theirs = rounds(f"pgdr-{v}", mode, comp), rounds("pgbackrest", pb_mode, comp)
                if len(ours) > 1 and len(ours) == len(theirs):
                    print(f"  - {what} per round: " + ", ".join(f"{o / t:.2f}x" for o, t in zip(ours, theirs)))
            lim_rounds = [max(x) for x in zip(*(rounds("machine", m, comp) for m in limit_modes(comp)))]
            ours = rounds(f"pgdr-{v}", "push async (parallel=4)", comp)
            if len(ours) > 1 and len(ours) == len(lim_rounds):
                print("  - push against the same round's machine limit: " + ", ".join(f"{o / l * 100:.0f}%" for o, l in zip(ours, lim_rounds)))
    if e4 and pb_push and limit:
        best = max(e2, e4)
        print(f"- {comp} engine best parallel push {best:.1f} MB/s = {best / pb_push:.2f}x pgBackRest async push ({pb_push:.1f}), {best / limit * 100:.0f}% of the machine limit {limit:.1f} MB/s")
# The ceiling the archive_command protocol leaves on these cores (protocol-ceiling.sh): the CLIs' own throughput with
# the protocol running beside them, against the same repetition's CLIs alone.
for comp in ("zstd:3", "lz4:1"):
    c = comp.split(":")[0]
    alone = rounds("ceiling", f"{c} CLI x2 alone", comp)
    for what, mode in (("no-op archive_commands", f"{c} CLI x2 beside no-op archive_commands"), ("acknowledged pgdr calls", f"{c} CLI x2 beside acknowledged pgdr calls")):
        beside = rounds("ceiling", mode, comp)
        if alone and len(beside) == len(alone):
            ratios = sorted(b / a * 100 for a, b in zip(alone, beside))
            print(f"- {comp} ceiling: the CLI x2 with {what} beside it runs at {ratios[len(ratios) // 2]:.0f}% of its own limit"
                  f" (median of {len(ratios)} repetitions, {ratios[0]:.0f}-{ratios[-1]:.0f}%)")
