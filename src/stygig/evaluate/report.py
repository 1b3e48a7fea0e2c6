"""``stygig eval --report DIR``: one HTML page with the figures and pictures of the best and worst
fill-in-the-blank answers (the artifact's thumbnails, copied beside the page).

For each question: the rest of the look, then the candidates with their scores; the right one is
framed green, the one the model picked (when it is wrong) red. The folder is written beside DIR
and renamed into place.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

from stygig.atomic import make_temp_dir
from stygig.errors import StygigError

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table.figures td{padding:.15rem .8rem}
.q{display:flex;flex-wrap:wrap;align-items:flex-end;gap:.4rem;margin:.6rem 0 1.4rem}
.q figure{margin:0;text-align:center;font-size:.75rem;width:104px}
.q img{width:96px;height:96px;object-fit:contain;border:4px solid #eee;border-radius:6px;background:#fff}
.q .answer img{border-color:#2a9d4b}.q .wrong img{border-color:#d33}
.q .sep{font-size:1.6rem;padding:0 .6rem 2.5rem}
"""


def write_report(directory: str | Path, result: dict[str, Any], table_text: str, rec) -> Path:
    """Write ``directory/index.html`` (and ``thumbs/``); returns the page's path."""
    out = Path(directory)
    if out.exists():
        if not out.is_dir():
            raise StygigError(f"--report {out} exists and is not a folder")
        if {p.name for p in out.iterdir()} - {"index.html", "thumbs"}:
            raise StygigError(f"--report {out} holds other files than an earlier report; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}.report-")
    try:
        (tmp / "thumbs").mkdir()
        copied: dict[str, str] = {}

        def picture(item_id: str) -> str:
            if item_id not in copied:
                rel = f"thumbs/{len(copied):05d}.jpg"
                try:
                    shutil.copyfile(rec.thumbnail_path(item_id), tmp / rel)
                except Exception:  # an item without a thumbnail: its name stands in
                    rel = ""
                copied[item_id] = rel
            return copied[item_id]

        def figure(item_id: str, caption: str, cls: str = "") -> str:
            name = rec.item(item_id).get("name") or item_id
            src = picture(item_id)
            img = f'<img src="{html.escape(src)}" alt="{html.escape(name)}">' if src else f"<div>{html.escape(name)}</div>"
            return (f'<figure class="{cls}" title="{html.escape(name)} ({html.escape(item_id)})">{img}'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>")

        def question(ex: dict[str, Any]) -> str:
            parts = [figure(i, rec.item(i)["category"]) for i in ex["question"]]
            parts.append('<span class="sep">+ ?</span>')
            for cid, score in zip(ex["candidates"], ex["scores"]):
                cls = "answer" if cid == ex["answer"] else "wrong" if cid == ex["picked"] else ""
                parts.append(figure(cid, f"{score:.3f}", cls))
            head = f"<h3>{html.escape(ex['source'])} — margin {ex['margin']:+.3f}</h3>"
            return head + '<div class="q">' + "".join(parts) + "</div>"

        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(v.strip())}</td></tr>"
            for k, _, v in (line.partition("  ") for line in table_text.splitlines())
        )
        examples = result.get("examples") or {"best": [], "worst": []}
        body = [
            "<!doctype html><html lang=en><meta charset=utf-8><title>StyGig evaluation</title>",
            f"<style>{STYLE}</style><h1>StyGig evaluation</h1>",
            f'<table class="figures">{rows}</table>',
            "<p>Fill in the blank: the rest of the look, then the candidates with the model's scores; "
            "the right piece is framed green, a wrong pick red.</p>",
            "<h2>Best answers</h2>", *(question(e) for e in examples["best"]),
            "<h2>Worst answers</h2>", *(question(e) for e in examples["worst"]),
            "</html>\n",
        ]
        (tmp / "index.html").write_text("\n".join(body), encoding="utf-8")
        from stygig.atomic import replace_dir

        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "index.html"
