"""The job report: what a render job made, read back from its frame records (so any shard, a resumed
job or a merged dataset reports the same way). Balance targets beside achieved shares, frames where a
constraint (e.g. "targets visible") could not be met, and instance counts.

``synthkiln render`` prints ``format_summary`` at the end of a job; the dataset report (``core/report``)
shows the same ``summarize`` data on its page.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..params.balance import BalanceTarget, report_rows
from . import layout
from .records import iter_records
from .job import read_manifest
from ..params.schema import from_data

# The slim records a caller of this process last read whole (the exports at a job's end), for ``summarize``
# right after: at a pool's end the exports then the summary read every record once, not twice (issue 16:
# ~0.7 s of a 1,000-frame job at 160x120). Kept for jobs up to REMEMBER_MAX frames (~2 KB a frame).
REMEMBER_MAX = 20_000
_LAST: dict[str, Any] = {}


def slim(record: dict) -> dict:
    """What ``summarize`` reads of a record: a caller streaming records for other reasons keeps these
    instead of every record whole (or reading them all twice)."""
    return {"applied": {k: {"ok": v.get("ok"), **({"skipped_assets": v["skipped_assets"]}
                                                   if v.get("skipped_assets") else {})}
                        for k, v in (record.get("applied") or {}).items() if isinstance(v, dict)},
            "objects": [{"category": o.get("category"), "attributes": o.get("attributes") or {},
                         "area": o.get("area")} for o in record.get("objects", [])]}


def remember(root: Path, indices: list[int], records: list[dict]) -> None:
    """``records`` (slim) of frames ``indices`` were just read from ``root``: ``summarize`` may reuse them."""
    _LAST.clear()
    if len(indices) <= REMEMBER_MAX:
        _LAST.update(root=Path(root).resolve(), indices=list(indices), records=records)


def summarize(root: Path, records: list[dict] | None = None) -> dict[str, Any]:
    """The job's figures from its records (read from ``root`` unless given, whole or ``slim``; the ones
    ``remember`` kept while the folder still holds exactly those frames)."""
    manifest = read_manifest(root)
    if records is None and _LAST.get("root") == Path(root).resolve() and \
            _LAST["indices"] == layout.record_indices(Path(root)):
        records = _LAST["records"]
    records = list(iter_records(root)) if records is None else records
    balance = [from_data(BalanceTarget, b) for b in manifest.get("recipe", {}).get("balance", [])]
    failed: Counter = Counter()
    skipped: dict[str, str] = {}       # asset id -> why its file could not be imported (a pool skipped it)
    for rec in records:
        for key, outcome in (rec.get("applied") or {}).items():
            if isinstance(outcome, dict) and outcome.get("ok") is False:
                failed[key] += 1
            if isinstance(outcome, dict) and isinstance(outcome.get("skipped_assets"), dict):
                skipped.update({str(k): str(v) for k, v in outcome["skipped_assets"].items()})
    categories: Counter = Counter(o["category"] for rec in records for o in rec.get("objects", []) if o.get("area"))
    return {
        "frames_done": len(records), "frames_planned": manifest.get("frames", 0),
        "instances": sum(categories.values()), "categories": dict(sorted(categories.items())),
        "balance": [{"attribute": a, "value": v, "target": t, "achieved": s, "instances": n}
                    for a, v, t, s, n in report_rows(balance, records)],
        "constraint_failures": dict(sorted(failed.items())),
        "skipped_assets": dict(sorted(skipped.items())),
        "devices": [d for d in manifest.get("devices") or [] if isinstance(d, dict)],
    }


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['frames_done']}/{summary['frames_planned']} frames, {summary['instances']} visible instances"
             + (": " + ", ".join(f"{k} {v}" for k, v in summary["categories"].items()) if summary["categories"] else "")]
    if summary["balance"]:
        lines.append("balance          value            target  achieved  instances")
        for row in summary["balance"]:
            lines.append(f"  {row['attribute']:<14} {row['value']:<16} {row['target']:6.1%}  {row['achieved']:7.1%}  "
                         f"{row['instances']:9d}")
    for d in summary.get("devices") or []:
        names = ", ".join(map(str, d.get("names") or []))
        what = d.get("backend") or d.get("device") or "?"
        lines.append(f"rendered on {what}" + (f": {names}" if names else ""))
    for key, n in summary["constraint_failures"].items():
        lines.append(f"{key}: constraint not met in {n} of {summary['frames_done']} frames (best try kept)")
    for asset, why in (summary.get("skipped_assets") or {}).items():
        lines.append(f"skipped asset {asset}: {why}")
    return "\n".join(lines)
