"""Rendering a BankResult (`gradcli check` on problem files or a directory): tables, JSON, Markdown.

Per file a table of claim id, kind, verdict, expect and detail; then one summary line (files, claims,
correct, wrong, known slips confirmed). Network specs met in a directory get one line each, and their
net-check dict in the JSON. User text (ids, formulas) only ever enters Rich as `Text`, never as markup.
"""

from __future__ import annotations

from typing import Any

from gradcli.render import dumps


def _bank(r):
    """A single ProblemResult is rendered as a bank of one file."""
    from gradcli.checks.bank import BankResult
    from gradcli.checks.claims.results import ProblemResult

    if isinstance(r, ProblemResult):
        return BankResult(r.file, [r], None, 1, 1, r.seconds)
    return r


def to_dict(r) -> dict:
    """The JSON of a bank: {"files": [{"file", "claims": [{"id","kind","verdict","expect","ok","detail"}, ...]}], "ok"}.

    Added keys: per file title, source, ok, seconds; per claim line, right, claimed, counterexample,
    method, seconds; a top-level summary and shard. A network spec's entry is its net-check dict with ok.
    """
    r = _bank(r)
    from gradcli.checks.bank import NetFileResult
    from gradcli.render import netcheck

    files = []
    for f in r.files:
        if isinstance(f, NetFileResult):
            files.append({**netcheck.to_dict(f.result), "file": f.file, "ok": f.ok})
            continue
        files.append({
            "file": f.file,
            "title": f.title,
            "source": f.source,
            "claims": [
                {"id": c.id, "kind": c.kind, "verdict": c.verdict, "expect": c.expect, "ok": c.ok,
                 "detail": c.detail, "line": c.line, "right": c.right, "claimed": c.claimed,
                 "counterexample": c.counterexample, "method": c.method, "seconds": round(c.seconds, 4)}
                for c in f.claims
            ],
            "ok": f.ok,
            "seconds": round(f.seconds, 4),
        })
    s = r.summary
    return {
        "files": files,
        "ok": r.ok,
        "summary": {"files": s.files, "problem_files": s.problem_files, "network_specs": s.net_files,
                    "claims": s.claims, "correct": s.correct, "wrong": s.wrong,
                    "known_slips_confirmed": s.slips_confirmed, "not_as_expected": s.mismatched,
                    "networks_disagreeing": s.nets_disagreeing, "seconds": round(r.seconds, 3)},
        "shard": f"{r.shard[0]}/{r.shard[1]}" if r.shard else None,
        "junit": r.junit,
    }


def json_text(r) -> str:
    return dumps(to_dict(r))


def summary_line(r) -> str:
    """'32 files, 187 claims: 170 correct, 17 wrong (12 known slips confirmed); every verdict matches its expect'."""
    r = _bank(r)
    s = r.summary
    parts = [f"{s.files} file{'s' if s.files != 1 else ''}"]
    if s.net_files:
        parts[0] += f" ({s.net_files} network spec{'s' if s.net_files != 1 else ''})"
    line = (f"{parts[0]}, {s.claims} claim{'s' if s.claims != 1 else ''}: {s.correct} correct, {s.wrong} wrong "
            f"({s.slips_confirmed} known slip{'s' if s.slips_confirmed != 1 else ''} confirmed)")
    if r.ok:
        line += "; every verdict matches its expect"
    else:
        bad = []
        if s.mismatched:
            bad.append(f"{s.mismatched} claim{'s' if s.mismatched != 1 else ''} not as expected")
        if s.nets_disagreeing:
            bad.append(f"{s.nets_disagreeing} network spec{'s' if s.nets_disagreeing != 1 else ''} disagree")
        line += "; " + ", ".join(bad)
    if r.shard:
        line += f" [shard {r.shard[0]}/{r.shard[1]} of {r.total_files} files]"
    line += f" in {r.seconds:.1f} s"
    if r.jobs > 1:
        line += f" ({r.jobs} jobs)"
    return line


def table(r):
    """Rich renderables: one table per problem file, one line per network spec, the summary line."""
    r = _bank(r)
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from gradcli.checks.bank import NetFileResult

    parts: list = []
    for f in r.files:
        if isinstance(f, NetFileResult):
            line = Text()
            line.append(f.file, style="bold")
            line.append("  network spec: ")
            line.append(f.verdict, style="green" if f.ok else "bold red")
            parts.append(line)
            parts.append(Text(""))
            continue
        title = Text(f.file, style="bold")
        if f.title:
            title.append(f" — {f.title}", style="bold")
        if f.source:
            title.append(f"  ({f.source})", style="dim")
        t = Table(title=title, title_justify="left", show_lines=False, expand=False)
        t.add_column("claim", overflow="fold", max_width=34)
        t.add_column("kind")
        t.add_column("verdict")
        t.add_column("expect")
        t.add_column("detail", overflow="fold", ratio=1)
        for c in f.claims:
            style = "green" if c.ok else "bold red"
            verdict = Text(c.verdict, style=style)
            if c.ok and c.slip_confirmed:
                verdict.append(" (slip)", style="yellow")
            t.add_row(Text(c.id), Text(c.kind), verdict, Text(c.expect, style="dim" if c.expect == "correct" else "yellow"),
                      Text(c.detail))
        parts.append(t)
        parts.append(Text(""))
    parts.append(Text(summary_line(r), style="bold green" if r.ok else "bold red"))
    mismatched = [(f.file, c) for f in r.files if not isinstance(f, NetFileResult) for c in f.claims if not c.ok]
    for file, c in mismatched[:20]:
        line = Text("  ✗ ", style="bold red")
        line.append(f"{file}:{c.line}  {c.id}", style="bold")
        line.append(f"  expected {c.expect}, found {c.verdict}")
        parts.append(line)
    if r.junit:
        parts.append(Text(f"JUnit XML written to {r.junit}", style="dim"))
    return Group(*parts)


def markdown(r) -> str:
    """A Markdown report: a table per file and the summary line."""
    r = _bank(r)
    from gradcli.checks.bank import NetFileResult

    out: list[str] = []
    for f in r.files:
        if isinstance(f, NetFileResult):
            out.append(f"### `{f.file}` — network spec: **{f.verdict}**\n")
            continue
        head = f"### `{f.file}`" + (f" — {_md(f.title)}" if f.title else "")
        out.append(head)
        if f.source:
            out.append(f"\n*Source: {_md(f.source)}*")
        out.append("\n| claim | kind | verdict | expect | detail |\n| --- | --- | --- | --- | --- |")
        for c in f.claims:
            mark = "" if c.ok else " ✗"
            out.append(f"| {_md(c.id)} | {c.kind} | **{c.verdict}**{mark} | {c.expect} | {_md(c.detail)} |")
        out.append("")
    out.append(f"**{summary_line(r)}**")
    return "\n".join(out) + "\n"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")

