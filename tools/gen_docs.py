#!/usr/bin/env python3
"""Write docs/randomizers.md from the schema: every randomizer type, its fields, defaults and help.

The recipe schema is the one source of truth (DESIGN §1); this page is generated from it so it can never
drift. tests/core/test_docs.py fails when the page is stale: run this script and commit the result.

    .venv/bin/python tools/gen_docs.py
"""

from __future__ import annotations

from pathlib import Path

import yaml

from synthkiln.addon.core.randomizers import GROUPS, Randomizer
from synthkiln.addon.core.params.schema import field_specs, to_data

ROOT = Path(__file__).resolve().parent.parent

OUT = ROOT / "docs" / "randomizers.md"
BASE_FIELDS = {"name", "enabled", "select"}


def _default(spec) -> str:
    value = to_data(spec.default)
    if spec.kind == "struct":
        return "—"
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()
    text = text.replace("|", "\\|")
    return f"`{text}`" if text not in ("''", "[]", "{}") else "—"


def render() -> str:
    out = ["# Randomizers", "",
           "Generated from the schema by `tools/gen_docs.py`; do not edit by hand.", "",
           "Every randomizer also has `name` (keys its random stream), `enabled` (mute) and `select` "
           "(`collection`, `names`, `category`). Any numeric parameter shown as a distribution takes "
           "`3.0`, `{uniform: [a, b]}`, `{normal: [mean, std], clip: [lo, hi]}`, `{log_uniform: [a, b]}` or "
           "`{choice: [...], weights: [...]}`, each with an optional `rare: {p: 0.02, uniform: [lo, hi]}`. "
           "Angles are degrees, lengths metres.", ""]
    for group in GROUPS:
        types = sorted((t, c) for t, c in Randomizer.REGISTRY.items() if c.GROUP == group)
        out += [f"## {group}", ""]
        for t, cls in types:
            doc = " ".join((cls.__doc__ or "").split())
            out += [f"### `{t}`", "", doc, "", "| field | kind | default | meaning |", "|---|---|---|---|"]
            for spec in field_specs(cls):
                if spec.name in BASE_FIELDS:
                    continue
                kind = "names" if spec.subtype == "names" else spec.kind
                rng = ""
                if spec.min is not None or spec.max is not None:
                    rng = f" ({spec.min if spec.min is not None else ''}..{spec.max if spec.max is not None else ''})"
                out.append(f"| `{spec.name}` | {kind}{rng} | {_default(spec)} | {spec.help} |")
            out.append("")
    return "\n".join(out)


def main() -> None:
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(render())
    print(OUT)


if __name__ == "__main__":
    main()
