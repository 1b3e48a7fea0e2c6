"""What a build did, for the terminal and for ``build_report.json``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stygig.artifact.manifest import MANIFEST, dump, sha256_file
from stygig.artifact.pack import pack_artifact, tar_path
from stygig.atomic import write_bytes as atomic_bytes
from stygig.wording import plural


@dataclass
class BuildSummary:
    out: Path
    n_items: int
    skipped: list[dict[str, str]]
    seconds: float
    encoder: dict[str, Any]
    tar: Path | None = None
    per_category: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    resumed_chunks: int = 0
    catalog: dict[str, Any] = field(default_factory=dict)  # Catalog.describe(): what was read

    def lines(self) -> list[str]:
        lines = [
            f"built {self.out} — {plural(self.n_items, 'item')}, encoder {self.encoder.get('kind')}"
            + (f" ({self.encoder['precision']})" if self.encoder.get("precision") else "")
            + f", {self.seconds:.1f} s"
            + (f" (resumed {plural(self.resumed_chunks, 'finished chunk')})" if self.resumed_chunks else ""),
        ]
        lines += catalog_lines(self.catalog)
        t = self.timings
        if "encode_s" in t:
            lines.append(
                f"time: decode+colours+thumbnails {t.get('featurize_worker_s', 0):.1f} s across worker threads, "
                f"encode {t['encode_s']:.1f} s, waiting for features {t.get('wait_for_features_s', 0):.1f} s, "
                f"write {t.get('write_s', 0):.1f} s, index {t.get('index_s', 0):.1f} s"
            )
        if self.skipped:
            lines.append(f"skipped {plural(len(self.skipped), 'bad file')}:")
            lines += [f"  {s['id']}: {s['reason']}" for s in self.skipped[:20]]
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more (see build_report.json)")
        if self.tar:
            lines.append(f"packed {self.tar}")
        return lines


def catalog_lines(catalog: dict[str, Any]) -> list[str]:
    """Which source a build read, and a warning for the pictures its manifest leaves out."""
    if not catalog:
        return []
    if catalog["kind"] == "manifest":
        lines = [f"catalog: manifest {catalog['source']} ({plural(catalog['items'], 'row')})"]
    else:
        lines = [f"catalog: folders in {catalog['source']} ({plural(catalog['items'], 'picture')})"]
    n = catalog.get("unlisted_pictures", 0)
    if n:
        shown = ", ".join(catalog["unlisted_examples"]) + (f" and {n - len(catalog['unlisted_examples'])} more" if n > len(catalog["unlisted_examples"]) else "")
        manifest = Path(catalog["source"])
        lines.append(
            f"warning: {plural(n, 'picture')} in {manifest.parent} {'is' if n == 1 else 'are'} not listed in "
            f"{manifest.name} and {'was' if n == 1 else 'were'} left out: "
            f"{shown} (add {'a row for it' if n == 1 else 'rows for them'} to the manifest)"
        )
    return lines


def summarise(out: Path, manifest: dict[str, Any], skipped: list[dict[str, str]], per_category: dict[str, int],
              timings: dict[str, float]) -> BuildSummary:
    return BuildSummary(out, int(manifest["counts"]["items"]), skipped, 0.0, manifest["encoder"],
                        per_category=per_category, timings=timings)


def done(summary: BuildSummary, out: Path, t0: float, tar: bool | str | Path = False) -> BuildSummary:
    """Record where and how long, write it into the report, pack if asked."""
    summary.out = out
    summary.seconds = time.perf_counter() - t0
    summary.timings["total_s"] = round(summary.seconds, 3)
    patch_report(out, summary)
    if tar:
        summary.tar = pack_artifact(out, tar_path(out, tar))
    return summary


def patch_report(out: Path, summary: BuildSummary) -> None:
    """Record time spent (build_report.json is volatile: not part of model_version)."""
    path = out / "build_report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    report["seconds"] = round(summary.seconds, 3)
    report["timings"] = {k: round(v, 3) for k, v in summary.timings.items()}
    report["resumed_chunks"] = summary.resumed_chunks
    if summary.catalog:
        report["catalog"] = summary.catalog
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"]["build_report.json"] = sha256_file(path)
    atomic_bytes(manifest_path, dump(manifest))
