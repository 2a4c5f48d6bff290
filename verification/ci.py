"""The verification report in the formats CI systems display: JUnit XML
(`--junit`) and a Markdown table (`--markdown`, e.g. a job summary).

Both take the runs as `python -m keras_optims.verification --json` writes
them (one dict per backend: "backend", "device", "rows", "counts",
"seconds"; or "backend", "passed": False and "error" when a run did not
finish; or "backend", "passed": True and "skipped", the reason, for a
backend `--backend all` found not installed), so that a run per backend in
its own process is reported alike.
"""

import xml.etree.ElementTree as ET

SUITE = "keras_optims.verification"


def _number(value):
    return f"{value:.3g}"


def _details(row):
    return (f"steps {row['steps']}, max abs error {_number(row['max_abs_error'])}, "
            f"max rel error {_number(row['max_rel_error'])}, tolerance {_number(row['tolerance'])}")


def junit_xml(runs):
    """JUnit XML: a testsuite per backend, a testcase per row (classname the
    section), a failed row as a `failure` whose message is the row's note, a
    skipped row as `skipped`, a run that did not finish as one `error`, a
    backend not installed as one `skipped`."""
    root = ET.Element("testsuites", name=SUITE)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for run in runs:
        backend = run.get("backend", "?")
        suite = ET.SubElement(root, "testsuite", name=f"{SUITE} ({backend})")
        rows = run.get("rows", [])
        counts = {"tests": len(rows), "failures": 0, "errors": 0, "skipped": 0}
        per_row = float(run.get("seconds", 0.0)) / max(len(rows), 1)
        for row in rows:
            case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.{backend}.{row['section']}",
                                 name=row["case"], time=f"{per_row:.3f}")
            if row["status"] == "FAIL":
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=row.get("note") or "FAIL", type="mismatch")
                failure.text = _details(row)
            elif row["status"] == "SKIP":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=row.get("note") or "skipped")
            else:
                ET.SubElement(case, "system-out").text = _details(row) + (f"; {row['note']}" if row.get("note") else "")
        if "skipped" in run:
            counts["tests"] += 1
            counts["skipped"] += 1
            case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.{backend}", name="run")
            ET.SubElement(case, "skipped", message=str(run["skipped"]))
        if "error" in run:
            counts["tests"] += 1
            counts["errors"] += 1
            case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.{backend}", name="run")
            ET.SubElement(case, "error", message=str(run["error"]))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{float(run.get('seconds', 0.0)):.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(runs):
    """The table as Markdown: a heading per backend with its counts, then a
    row per check (failures first, so that a summary shows them)."""
    out = []
    for run in runs:
        backend = run.get("backend", "?")
        if "error" in run:
            out += [f"### {SUITE} on {backend}: did not finish ({_cell(run['error'])})", ""]
            continue
        if "skipped" in run:
            out += [f"### {SUITE} on {backend}: skipped ({_cell(run['skipped'])})", ""]
            continue
        counts, device = run.get("counts", {}), run.get("device", {})
        status = "passed" if run.get("passed") else "FAILED"
        out += [
            f"### {SUITE} on {backend} ({_cell(device.get('kind', '?'))}): {status}",
            "",
            f"{counts.get('PASS', 0)} passed, {counts.get('FAIL', 0)} failed, {counts.get('SKIP', 0)} skipped; "
            f"dtype {run.get('dtype', '?')}, {run.get('steps', '?')} steps.",
            "",
            "| case | steps | max abs err | max rel err | tolerance | status |",
            "|---|---:|---:|---:|---:|---|",
        ]
        order = {"FAIL": 0, "PASS": 1, "SKIP": 2}
        for row in sorted(run.get("rows", []), key=lambda r: order.get(r["status"], 3)):
            case = _cell(row["name"]) + (f" <br>*{_cell(row['note'])}*" if row.get("note") else "")
            numbers = (["—"] * 3 if row["status"] == "SKIP" else
                       [f"{row['max_abs_error']:.2e}", f"{row['max_rel_error']:.2e}", f"{row['tolerance']:.1e}"])
            status = f"**{row['status']}**" if row["status"] == "FAIL" else row["status"]
            out.append(f"| {case} | {row['steps']} | {' | '.join(numbers)} | {status} |")
        out.append("")
    return "\n".join(out)
