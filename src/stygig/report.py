"""Visual report: ``outfit.png`` (the composed outfit as a set, the query's pieces marked, each slot's
alternatives under it) and ``outfit.json``.

The picture is meant to be shown to a customer: a white card, the query on the left, the outfit
as a grid of item pictures, each captioned with its category, score and colour swatches, and a
one-line reason. Item pictures come from a loader (the artifact's thumbnails locally, or the
server's thumbnail route for ``stygig invoke``), so the report never needs S3.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Callable, Sequence

from PIL import Image, ImageDraw, ImageFont

from stygig.atomic import write_bytes
from stygig.errors import StygigError
from stygig.wording import plural

ImageLoader = Callable[[dict[str, Any]], "Image.Image | None"]

CARD = 240
PAD = 24
CAPTION = 140
INK = (33, 33, 38)
MUTED = (110, 110, 120)
ACCENT = (24, 98, 181)
BG = (250, 250, 248)


def _font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    for name in (
        "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf" if bold else "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _fit(img: Image.Image | None, side: int) -> Image.Image:
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    if img is None:
        d = ImageDraw.Draw(canvas)
        d.rectangle([0, 0, side - 1, side - 1], outline=(220, 220, 220))
        d.text((side // 2, side // 2), "no picture", fill=MUTED, font=_font(14), anchor="mm")
        return canvas
    img = img.convert("RGB")
    img.thumbnail((side - 12, side - 12), Image.LANCZOS)
    canvas.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    return canvas


def colour_chips(colours: list[dict[str, Any]], limit: int = 3) -> list[dict[str, Any]]:
    """One chip per colour name: two dominant greys are one "grey" chip (the heavier one's
    colour; dominant colours come heaviest first), at most ``limit`` chips."""
    chips: dict[str, dict[str, Any]] = {}
    for c in colours:
        chips.setdefault(c.get("name") or c.get("hex") or "?", c)
    return list(chips.values())[:limit]


def _swatches(draw: ImageDraw.ImageDraw, x: int, y: int, colours: list[dict[str, Any]], size: int = 16) -> None:
    for j, c in enumerate(colour_chips(colours)):
        x0 = x + j * (size + 6)
        rgb = tuple(int(v) for v in c.get("rgb", (200, 200, 200)))
        draw.rounded_rectangle([x0, y, x0 + size, y + size], radius=4, fill=rgb, outline=(180, 180, 180))


ALT = 72  # an alternative's picture, under its slot
OUTFIT_CAPTION = 150
QUERY_FILL = (236, 242, 250)


def render_outfit(response: dict[str, Any], query_image: "Image.Image | None | Sequence[Image.Image | None]",
                  load_item: ImageLoader) -> Image.Image:
    """The answer as a picture: the composed outfit as a set (when the response has one), else
    the ranked list. ``query_image``: the query's picture, or one per query piece."""
    if (response.get("outfit") or {}).get("pieces"):
        return render_composed(response, query_image, load_item)
    lead = query_image[0] if isinstance(query_image, (list, tuple)) else query_image
    return render_ranked(response, lead, load_item)


def render_composed(response: dict[str, Any], query_image: "Image.Image | None | Sequence[Image.Image | None]",
                    load_item: ImageLoader) -> Image.Image:
    """The outfit as a set: the query's pieces first, marked "your piece" on a blue card, then one
    column per slot — the chosen piece (slot, score, colours, reason) and, under it, the slot's
    alternatives, smaller, with their outfit scores. ``query_image``: the first piece's picture,
    or one per query piece."""
    outfit = response["outfit"]
    pieces = outfit["pieces"]
    queries = response.get("query_items") or [response.get("query_item") or {}]
    cells: list[tuple[str, dict[str, Any]]] = [("query", q) for q in queries] + [("piece", p) for p in pieces]
    cols = min(5, len(cells))
    rows = (len(cells) + cols - 1) // cols
    col_h = CARD + OUTFIT_CAPTION + ALT + 40
    width = PAD + cols * (CARD + PAD)
    height = 96 + rows * (col_h + PAD)
    img = Image.new("RGB", (width, height), BG)
    d = ImageDraw.Draw(img)
    d.text((PAD, 22), "Your outfit, completed", fill=INK, font=_font(28, bold=True))
    meta = response.get("metadata", {})
    score = outfit.get("score")
    d.text((PAD, 60), f"{plural(len(queries), 'piece')} of yours + {plural(len(pieces), 'piece')} chosen together"
                      f" · outfit score {score:.2f}" if score is not None else "", fill=MUTED, font=_font(14))
    d.text((width - PAD, 60), f"from {_count(meta.get('total_items'), 'catalog item')} · model {meta.get('model_version', '?')}",
           fill=MUTED, font=_font(14), anchor="ra")
    for n, (kind, it) in enumerate(cells):
        r, c = divmod(n, cols)
        x, y = PAD + c * (CARD + PAD), 96 + r * (col_h + PAD)
        if kind == "query":
            d.rounded_rectangle([x - 6, y - 6, x + CARD + 6, y + CARD + OUTFIT_CAPTION], radius=12, fill=QUERY_FILL,
                                outline=ACCENT, width=2)
            given = query_image[n] if isinstance(query_image, (list, tuple)) else query_image if n == 0 else None
            picture = given if given is not None else load_item(it)
            img.paste(_fit(picture, CARD), (x, y))
            d.text((x + 8, y + CARD + 8), "YOUR PIECE", fill=ACCENT, font=_font(14, bold=True))
            d.text((x + 8, y + CARD + 30), f"{it.get('category', '?')} ({it.get('category_source', '?')})", fill=INK,
                   font=_font(14))
            _swatches(d, x + 8, y + CARD + 54, it.get("colors", []))
            if it.get("name"):
                d.text((x + 8, y + CARD + 80), str(it["name"])[:32], fill=MUTED, font=_font(12))
            continue
        d.rounded_rectangle([x - 1, y - 1, x + CARD + 1, y + CARD + OUTFIT_CAPTION - 4], radius=10, fill=(255, 255, 255),
                            outline=(225, 225, 225))
        img.paste(_fit(load_item(it), CARD - 2), (x, y))
        d.text((x + 10, y + CARD + 6), it.get("slot", "?").upper(), fill=MUTED, font=_font(12, bold=True))
        d.text((x + CARD - 10, y + CARD + 6), f"{float(it.get('score', 0)):.2f}", fill=ACCENT, font=_font(15, bold=True),
               anchor="ra")
        d.text((x + 10, y + CARD + 24), str(it.get("name") or it.get("category", "?"))[:30], fill=INK, font=_font(14, bold=True))
        _swatches(d, x + 10, y + CARD + 46, it.get("colors", []))
        for k, line in enumerate(textwrap.wrap(it.get("reason", ""), 36)[:5]):
            d.text((x + 10, y + CARD + 68 + k * 15), line, fill=MUTED, font=_font(11))
        alts = it.get("alternatives") or []
        ay = y + CARD + OUTFIT_CAPTION + 4
        if alts:
            d.text((x, ay), "or swap for", fill=MUTED, font=_font(11))
        for k, a in enumerate(alts[:3]):
            ax = x + k * (ALT + 12)
            img.paste(_fit(load_item(a), ALT), (ax, ay + 16))
            d.rectangle([ax, ay + 16, ax + ALT - 1, ay + 16 + ALT - 1], outline=(225, 225, 225))
            d.text((ax + ALT // 2, ay + 20 + ALT), f"{float(a.get('outfit_score', 0)):.2f}", fill=MUTED, font=_font(11),
                   anchor="ma")
    return img


def render_ranked(response: dict[str, Any], query_image: Image.Image | None, load_item: ImageLoader) -> Image.Image:
    """The ranked list (an answer without a composed outfit): the query beside its items."""
    recs = response.get("recommendations", [])
    q = response.get("query_item") or (response.get("query_items") or [{}])[0]
    cols = max(1, min(4, len(recs)))
    rows = max(1, (len(recs) + cols - 1) // cols)
    left = CARD + 2 * PAD
    width = left + cols * (CARD + PAD) + PAD
    height = 90 + rows * (CARD + CAPTION + PAD) + PAD
    height = max(height, 90 + CARD + CAPTION + 2 * PAD)
    img = Image.new("RGB", (width, height), BG)
    d = ImageDraw.Draw(img)
    d.text((PAD, 22), "Your outfit, completed", fill=INK, font=_font(28, bold=True))
    meta = response.get("metadata", {})
    d.text(
        (PAD, 60),
        f"{plural(len(recs), 'piece')} from {_count(meta.get('total_items'), 'catalog item')} · model {meta.get('model_version', '?')}",
        fill=MUTED,
        font=_font(14),
    )
    # query
    top = 90
    d.rounded_rectangle([PAD - 6, top - 6, PAD + CARD + 6, top + CARD + CAPTION], radius=12, fill=(236, 242, 250))
    img.paste(_fit(query_image, CARD), (PAD, top))
    d.text((PAD, top + CARD + 10), "Your piece", fill=ACCENT, font=_font(16, bold=True))
    cat = q.get("category", "?")
    d.text((PAD, top + CARD + 34), f"{cat} ({q.get('category_source', '?')})", fill=INK, font=_font(14))
    _swatches(d, PAD, top + CARD + 58, q.get("colors", []))
    # recommendations
    for i, rec in enumerate(recs):
        r, c = divmod(i, cols)
        x = left + c * (CARD + PAD)
        y = top + r * (CARD + CAPTION + PAD)
        d.rounded_rectangle([x - 1, y - 1, x + CARD + 1, y + CARD + CAPTION - 8], radius=10, fill=(255, 255, 255), outline=(225, 225, 225))
        img.paste(_fit(load_item(rec), CARD - 2), (x, y))
        d.text((x + 10, y + CARD + 6), f"{rec.get('rank', i + 1)}. {rec.get('category', '?')}", fill=INK, font=_font(16, bold=True))
        d.text((x + CARD - 10, y + CARD + 8), f"{float(rec.get('score', 0)):.2f}", fill=ACCENT, font=_font(15, bold=True), anchor="ra")
        _swatches(d, x + 10, y + CARD + 32, rec.get("colors", []))
        shown = colour_chips(rec.get("colors", []))
        names = ", ".join(col.get("name", "") for col in shown[:2])
        d.text((x + 16 + 22 * max(1, len(shown)), y + CARD + 33), names[:28], fill=MUTED, font=_font(12))
        reason = rec.get("reason", "")
        for k, line in enumerate(textwrap.wrap(reason, 34)[:4]):
            d.text((x + 10, y + CARD + 56 + k * 16), line, fill=MUTED, font=_font(12))
    if not recs:
        d.text((left, top + CARD // 2), "No complementary items matched the filters.", fill=MUTED, font=_font(16))
    return img


def save_visual(
    response: dict[str, Any],
    out_dir: str | Path,
    load_item: ImageLoader,
    query_image: "Image.Image | None | Sequence[Image.Image | None]" = None,
) -> tuple[Path, Path]:
    """Write ``outfit.png`` and ``outfit.json`` into ``out_dir`` (each atomically, with the
    umask's modes); return their paths. ``query_image``: the query's picture, or one per piece."""
    import io

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise StygigError(f"--save-visual {out}: a file is there; give a folder to write outfit.png and outfit.json into")
    out.mkdir(parents=True, exist_ok=True)
    png = out / "outfit.png"
    js = out / "outfit.json"
    buf = io.BytesIO()
    render_outfit(response, query_image, load_item).save(buf, "PNG", optimize=True)
    write_bytes(png, buf.getvalue())
    write_bytes(js, (json.dumps(response, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return png, js


def artifact_loader(artifact_dir: str | Path) -> ImageLoader:
    """Item pictures from an artifact's thumbnails."""
    root = Path(artifact_dir).resolve()

    def load(rec: dict[str, Any]) -> Image.Image | None:
        rel = rec.get("thumbnail")
        if not rel:
            return None
        p = (root / rel).resolve()
        if not p.is_relative_to(root) or not p.is_file():
            return None
        with Image.open(p) as im:
            return im.convert("RGB")

    return load


def _count(n: Any, noun: str) -> str:
    return plural(n, noun) if isinstance(n, int) else f"? {noun}s"


def _named(item_id: str | None, name: str | None) -> str:
    """``denim checked shorts (shorts-0024)``: the name people read, the id to ask for it by."""
    if name and item_id and name != item_id:
        return f"{name} ({item_id})"
    return name or item_id or "?"


def _chip_names(colours: list[dict[str, Any]]) -> str:
    return ", ".join(c.get("name", "?") for c in colour_chips(colours)) or "no colour"


def format_outfit(response: dict[str, Any]) -> str:
    """A short readable outfit for a terminal: a line per query piece, the composed outfit slot
    by slot (each piece's scores, reason and alternatives), then the ranked list's other picks."""
    pieces = response.get("query_items") or [response.get("query_item", {})]
    lines = []
    for n, q in enumerate(pieces, start=1):
        head = "Query" if len(pieces) == 1 else f"Query {n}/{len(pieces)}"
        head += f": {q.get('category', '?')} (by {q.get('category_source', '?')}) · {_chip_names(q.get('colors', []))}"
        if q.get("item_id"):
            head += f" — item {_named(q['item_id'], q.get('name'))}"
        lines.append(head)
    recs = response.get("recommendations", [])
    outfit = response.get("outfit") or {}
    chosen = outfit.get("pieces") or []
    if not recs and not chosen:
        lines.append("  no complementary items matched the filters")
    if chosen:
        lines.append(f"Outfit: {plural(len(chosen), 'piece')} · score {_num(outfit.get('score'))}"
                     f" · coherence {_num(outfit.get('coherence'))}")
        width = max(len(p.get("slot", "")) for p in chosen)
        for p in chosen:
            pad = " " * (width + 4)
            lines.append(f"  {p.get('slot', '?'):<{width}}  {_named(p.get('item_id'), p.get('name'))}"
                         f" — score {float(p.get('score', 0)):.3f}, fits the outfit {float(p.get('fit_score', 0)):.3f}")
            lines.append(f"{pad}{_scores_line(p)}")
            if p.get("reason"):
                lines.append(f"{pad}{p['reason']}")
            alts = p.get("alternatives") or []
            if alts:
                lines.append(f"{pad}or: " + "; ".join(
                    f"{_named(a.get('item_id'), a.get('name'))} (outfit {float(a.get('outfit_score', 0)):.3f})" for a in alts))
    in_outfit = {p.get("item_id") for p in chosen}
    others = [r for r in recs if r.get("item_id") not in in_outfit]
    if others:
        lines.append("Also ranked:" if chosen else "Ranked:")
    for r in others:
        lines.append(f"  {r.get('rank')}. {_named(r.get('item_id'), r.get('name'))} — score {float(r.get('score', 0)):.3f}")
        lines.append(f"     {_scores_line(r)}")
        if r.get("reason"):
            lines.append(f"     {r['reason']}")
    meta = response.get("metadata", {})
    lines.append(f"  ({meta.get('processing_time_ms', '?')} ms over {_count(meta.get('total_items'), 'item')}, model {meta.get('model_version', '?')})")
    return "\n".join(lines)


def _scores_line(r: dict[str, Any]) -> str:
    return (f"{r.get('category', '?')} · {_chip_names(r.get('colors', []))}"
            f" · visual {float(r.get('similarity_score', 0)):.2f}, colour {float(r.get('color_score', 0)):.2f},"
            f" category {float(r.get('category_score', 0)):.2f}, gender {float(r.get('gender_score', 0)):.2f}"
            + (f", boost {float(r['boost_score']):.2f}" if r.get("boost_score") is not None else ""))


def _num(v: Any) -> str:
    return "—" if v is None else f"{float(v):.3f}"
