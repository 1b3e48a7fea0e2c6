"""Visible styles: what each item is made as (style -> cut -> fabric -> pattern -> palette -> colour).

Every item gets a *style* a picture shows, for measuring outfit quality on drawn pieces
(issue 13): ``formal`` (tailored cuts, lapels and collars, wool, poplin, silk and polished
leather, pinstripes and fine checks, dark and neutral colours), ``casual`` (relaxed cuts, denim,
linen, knit, canvas, suede, gingham and breton stripes, earthy, pastel and bright colours) and
``sport`` (athletic cuts, mesh, nylon and jersey, contrast stripes, bright colours). A category
holds the styles it is made in (no formal t-shirt, no sporty heels); each style lists its cuts
(the drawer's variants) and each cut the fabrics it comes in.

The palette *family* (dark, neutral, earth, pastel, bright) is drawn from the style's weights,
then a colour inside it; denim and metals bring their own colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stygig.catalog.sample.colours import FABRIC_ONLY, FAMILIES, FAMILY_OF, LIKELY_COLORS

STYLES = ("formal", "casual", "sport")
PATTERNS = ("solid", "stripes", "checks", "dots")
FABRICS = (
    "wool", "tweed", "poplin", "cotton", "linen", "flannel", "denim", "knit", "jersey", "mesh", "nylon",
    "leather", "suede", "canvas", "silk", "felt", "straw", "acetate", "metal", "gold", "silver", "pearl",
    "beads", "cord",
)


@dataclass(frozen=True)
class Variant:
    """One style of a category: its weight among the category's styles, its cuts (each with the
    fabrics it comes in) and, where the style's default palette does not fit, its own."""

    weight: float
    cuts: dict[str, tuple[str, ...]]
    palettes: dict[str, float] | None = None


_EARTHY = {"earth": 0.4, "neutral": 0.25, "pastel": 0.15, "bright": 0.2}

#: category -> style -> variant
STYLE_TABLE: dict[str, dict[str, Variant]] = {
    "shirt": {
        "formal": Variant(0.5, {"dress shirt": ("poplin", "poplin", "silk")}, {"neutral": 0.45, "pastel": 0.35, "dark": 0.2}),
        "casual": Variant(0.5, {"button-down": ("cotton", "denim", "flannel"), "rolled sleeves": ("linen", "cotton", "flannel")}),
    },
    "tshirt": {
        "casual": Variant(0.6, {"crew neck": ("jersey", "cotton"), "v-neck": ("jersey",), "pocket tee": ("cotton", "jersey")}),
        "sport": Variant(0.4, {"raglan": ("mesh", "jersey"), "training tee": ("mesh",)}),
    },
    "jacket": {
        "casual": Variant(0.65, {"denim jacket": ("denim",), "bomber": ("nylon", "suede"), "biker": ("leather",)}, _EARTHY),
        "sport": Variant(0.35, {"track jacket": ("nylon", "jersey"), "windbreaker": ("nylon",)}),
    },
    "coat": {
        "formal": Variant(0.45, {"overcoat": ("wool",), "double-breasted overcoat": ("wool", "tweed")}),
        "casual": Variant(0.35, {"trench coat": ("cotton",), "duffle coat": ("wool", "tweed")}, _EARTHY),
        "sport": Variant(0.2, {"puffer": ("nylon",)}),
    },
    "blazer": {
        "formal": Variant(0.6, {"suit blazer": ("wool",), "double-breasted blazer": ("wool",)}),
        "casual": Variant(0.4, {"unstructured blazer": ("linen", "tweed", "cotton", "knit")}, _EARTHY),
    },
    "pants": {
        "formal": Variant(0.4, {"tailored trousers": ("wool",), "pleated trousers": ("wool", "linen")}),
        "casual": Variant(0.4, {"chinos": ("cotton",), "jeans": ("denim",), "wide-leg trousers": ("linen", "cotton")}),
        "sport": Variant(0.2, {"joggers": ("jersey",), "track pants": ("nylon",)}),
    },
    "shorts": {
        "casual": Variant(0.6, {"chino shorts": ("cotton", "linen"), "denim shorts": ("denim",)}),
        "sport": Variant(0.4, {"running shorts": ("nylon",), "basketball shorts": ("mesh",)}),
    },
    "skirt": {
        "formal": Variant(0.35, {"pencil skirt": ("wool", "silk")}),
        "casual": Variant(0.5, {"a-line skirt": ("cotton", "linen"), "flared skirt": ("cotton", "silk"), "denim skirt": ("denim",),
                                "pleated midi": ("silk", "cotton")}),
        "sport": Variant(0.15, {"tennis skirt": ("jersey",)}, {"neutral": 0.45, "bright": 0.4, "pastel": 0.15}),
    },
    "shoes": {
        "formal": Variant(0.6, {"oxford": ("leather",), "monk strap": ("leather",)}, {"dark": 0.6, "earth": 0.4}),
        "casual": Variant(0.4, {"derby": ("suede", "leather"), "loafer": ("suede", "leather")}, {"earth": 0.5, "neutral": 0.15, "dark": 0.15, "bright": 0.1, "pastel": 0.1}),
    },
    "sneakers": {
        "casual": Variant(0.5, {"canvas low-top": ("canvas",), "canvas high-top": ("canvas",)}),
        "sport": Variant(0.5, {"running shoe": ("mesh", "nylon")}),
    },
    "heels": {
        "formal": Variant(0.6, {"stiletto pump": ("leather",), "slingback": ("leather", "silk")}, {"dark": 0.5, "neutral": 0.3, "bright": 0.2}),
        "casual": Variant(0.4, {"block heel": ("suede", "leather"), "espadrille wedge": ("canvas",)}),
    },
    "flats": {
        "formal": Variant(0.45, {"pointed flat": ("leather",)}),
        "casual": Variant(0.55, {"ballet flat": ("suede", "leather", "canvas"), "bow ballet flat": ("suede", "leather", "canvas")}),
    },
    "bag": {
        "formal": Variant(0.4, {"structured handbag": ("leather",), "briefcase": ("leather",)}),
        "casual": Variant(0.4, {"tote": ("canvas",), "satchel": ("leather", "suede")}),
        "sport": Variant(0.2, {"gym duffle": ("nylon",)}),
    },
    "hat": {
        "formal": Variant(0.3, {"fedora": ("felt",)}),
        "casual": Variant(0.4, {"boater": ("straw",), "sun hat": ("straw",), "bucket hat": ("canvas", "cotton"), "beanie": ("knit",)}),
        "sport": Variant(0.3, {"baseball cap": ("cotton", "mesh")}),
    },
    "belt": {
        "formal": Variant(0.5, {"dress belt": ("leather",)}, {"dark": 0.6, "earth": 0.4}),
        "casual": Variant(0.5, {"braided belt": ("leather", "canvas"), "canvas belt": ("canvas",)}),
    },
    "necklace": {
        "formal": Variant(0.5, {"pearl strand": ("pearl",), "pendant chain": ("gold", "silver")}),
        "casual": Variant(0.5, {"beaded necklace": ("beads",), "cord pendant": ("cord",)}),
    },
    "scarf": {
        "formal": Variant(0.4, {"silk square": ("silk",), "cashmere scarf": ("wool",)}),
        "casual": Variant(0.6, {"knit scarf": ("knit",), "plaid scarf": ("flannel",)}, _EARTHY),
    },
    "sunglasses": {
        "formal": Variant(0.35, {"classic": ("acetate",), "aviator": ("metal",)}),
        "casual": Variant(0.4, {"round": ("acetate", "metal"), "cat-eye": ("acetate",)}),
        "sport": Variant(0.25, {"shield": ("nylon",)}),
    },
    "dress": {
        "formal": Variant(0.45, {"sheath dress": ("wool", "silk"), "evening gown": ("silk",)}, {"dark": 0.6, "neutral": 0.15, "bright": 0.25}),
        "casual": Variant(0.55, {"sundress": ("cotton", "linen"), "tea dress": ("cotton", "jersey")}),
    },
    "jumpsuit": {
        "formal": Variant(0.45, {"tailored jumpsuit": ("silk", "wool")}),
        "casual": Variant(0.55, {"utility jumpsuit": ("cotton",), "dungarees": ("denim",)}, _EARTHY),
    },
}

#: the palette families each style is made in
STYLE_PALETTES: dict[str, dict[str, float]] = {
    "formal": {"dark": 0.55, "neutral": 0.3, "earth": 0.15},
    "casual": {"neutral": 0.15, "earth": 0.25, "pastel": 0.3, "bright": 0.3},
    "sport": {"bright": 0.55, "dark": 0.2, "neutral": 0.25},
}

#: fabrics that bring their own colours
FABRIC_COLORS: dict[str, tuple[str, ...]] = {
    "denim": ("denim", "light denim", "indigo"),
    "pearl": ("cream", "white"),
    "gold": ("gold",),
    "silver": ("silver",),
    "metal": ("gold", "silver", "black"),
    "straw": ("beige", "cream", "camel", "khaki"),
    "cord": ("brown", "black", "camel"),
}

#: patterns a fabric can carry (everything else is solid)
FABRIC_PATTERNS: dict[str, tuple[str, ...]] = {
    "wool": ("solid", "stripes", "checks"),
    "poplin": ("solid", "stripes", "checks"),
    "cotton": ("solid", "stripes", "checks", "dots"),
    "linen": ("solid", "stripes"),
    "flannel": ("checks",),
    "knit": ("solid", "stripes"),
    "jersey": ("solid", "stripes"),
    "canvas": ("solid", "stripes"),
    "silk": ("solid", "dots", "stripes"),
}
#: categories that carry fewer patterns than their fabric could
CATEGORY_PATTERNS: dict[str, tuple[str, ...]] = {
    "shoes": ("solid",), "sneakers": ("solid",), "heels": ("solid",), "flats": ("solid",),
    "hat": ("solid", "checks"), "bag": ("solid", "stripes", "checks"), "belt": ("solid", "stripes"),
    "sunglasses": ("solid",), "necklace": ("solid",),
}
#: cuts that carry fewer patterns than their fabric and category could
CUT_PATTERNS: dict[str, tuple[str, ...]] = {
    "trench coat": ("solid",), "puffer": ("solid",), "biker": ("solid",), "bomber": ("solid",),
    "overcoat": ("solid", "checks"), "double-breasted overcoat": ("solid", "checks"), "duffle coat": ("solid", "checks"),
    "unstructured blazer": ("solid", "checks"), "evening gown": ("solid",), "track jacket": ("solid",),
}
#: cuts made in other colours than their style's (a leather biker is black or brown)
CUT_PALETTES: dict[str, dict[str, float]] = {
    "biker": {"dark": 0.75, "earth": 0.25},
    "trench coat": {"earth": 0.6, "neutral": 0.2, "dark": 0.2},
    "bomber": {"dark": 0.4, "earth": 0.4, "bright": 0.2},
}
STYLE_PATTERN_WEIGHTS: dict[str, dict[str, float]] = {
    "formal": {"solid": 0.6, "stripes": 0.25, "checks": 0.15, "dots": 0.05},
    "casual": {"solid": 0.45, "stripes": 0.2, "checks": 0.2, "dots": 0.15},
    "sport": {"solid": 0.7, "stripes": 0.3},
}


@dataclass(frozen=True)
class Look:
    """What one item is made as."""

    style: str
    cut: str
    fabric: str
    pattern: str
    palette: str
    color: str


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    w = np.array([weights[n] for n in names], np.float64)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def choose_look(category: str, rng: np.random.Generator) -> Look:
    """Draw an item's style, cut, fabric, pattern, palette family and colour, in that order."""
    variants = STYLE_TABLE[category]
    style = _pick(rng, {s: v.weight for s, v in variants.items()})
    variant = variants[style]
    cut = _pick(rng, {c: 1.0 for c in variant.cuts})
    fabrics = variant.cuts[cut]
    fabric = fabrics[int(rng.integers(len(fabrics)))]
    allowed = [
        p for p in FABRIC_PATTERNS.get(fabric, ("solid",))
        if p in CATEGORY_PATTERNS.get(category, PATTERNS) and p in CUT_PATTERNS.get(cut, PATTERNS)
    ]
    weights = {p: STYLE_PATTERN_WEIGHTS[style].get(p, 0.0) for p in allowed}
    if sum(weights.values()) <= 0:
        weights = {allowed[0] if allowed else "solid": 1.0}
    pattern = _pick(rng, weights)
    likely = LIKELY_COLORS.get(category, ())
    if fabric in FABRIC_COLORS:
        colours = FABRIC_COLORS[fabric]
        color = colours[int(rng.integers(len(colours)))]
        palette = FAMILY_OF[color]
    else:
        palette = _pick(rng, CUT_PALETTES.get(cut) or variant.palettes or STYLE_PALETTES[style])
        colours = tuple(c for c in FAMILIES[palette] if c not in FABRIC_ONLY)
        color = _pick(rng, {c: 3.0 if c in likely else 1.0 for c in colours})
    return Look(style, cut, fabric, pattern, palette, color)
