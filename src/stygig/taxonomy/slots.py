"""The slots an outfit is made of, as the taxonomy declares them (its ``"outfit"`` key).

``default.json`` says::

    "outfit": {
      "base": [["top", "bottom"], ["one-piece"]],
      "slots": {
        "top":       {"groups": ["upperwear"]},
        "bottom":    {"groups": ["bottomwear"]},
        "one-piece": {"groups": ["one-piece"], "excludes": ["top", "bottom"]},
        "outerwear": {"groups": ["outerwear"], "optional": true, "over": ["top", "one-piece"]},
        "footwear":  {"groups": ["footwear"]},
        "bag":       {"categories": ["bag"], "optional": true},
        ...
      }
    }

* every category fills exactly one slot (a slot names its ``groups`` and/or ``categories``);
* a slot holds at most one piece; ``excludes`` lists the slots it is never worn with (read both
  ways: a one-piece excludes a top, so a top excludes a one-piece);
* ``base``: the alternatives an outfit is built on; an outfit holds exactly one of them whole
  (a top and a bottom, or a one-piece); the slots of different alternatives must exclude each other;
* a slot that is neither in the base nor ``optional`` is required (footwear); ``optional`` slots
  may stay empty (outerwear, each kind of accessory);
* ``over``: the slot is worn over one of these (outerwear over a top or a one-piece), so an
  outfit holding it holds one of them too.

:meth:`OutfitRules.plan` reads a query's pieces (their categories) against these rules: which
slots they fill, which stay open, and which pieces cannot be worn together (by index).
:meth:`OutfitRules.violations` lists the rules a finished outfit breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from stygig.errors import TaxonomyError

SLOT_KEYS = ("display", "groups", "categories", "excludes", "optional", "over")


@dataclass(frozen=True)
class Slot:
    name: str
    display: str
    #: the categories that fill it, in taxonomy order
    categories: tuple[str, ...]
    optional: bool
    #: slots never worn with this one (symmetric: closed over both directions at load)
    excludes: frozenset[str]
    #: the slot is worn over one of these (empty: over nothing)
    over: tuple[str, ...]
    #: the slot is part of a base alternative
    base: bool

    @property
    def required(self) -> bool:
        """Filled in every complete outfit (base slots are required through their alternative)."""
        return not self.optional and not self.base


@dataclass(frozen=True)
class Conflict:
    """Two query pieces that cannot be worn together: ``first`` < ``second`` are their indexes."""

    first: int
    second: int
    #: ``"same slot"`` (two bottoms) or ``"excludes"`` (a dress and a skirt)
    kind: str
    first_category: str
    second_category: str
    first_slot: str
    second_slot: str

    @property
    def message(self) -> str:
        """``items[0] (skirt) and items[1] (trousers) both fill the bottom slot``."""
        return self.worded(f"items[{self.first}]", f"items[{self.second}]")

    def worded(self, first_label: str, second_label: str) -> str:
        """:attr:`message` with the pieces named otherwise (the CLI's ``--item skirt-0002``)."""
        a = f"{first_label} ({self.first_category})"
        b = f"{second_label} ({self.second_category})"
        if self.kind == "same slot":
            return f"{a} and {b} both fill the {self.first_slot} slot; an outfit holds one"
        return f"{a} and {b} cannot be worn together (a {self.first_slot} is not worn with a {self.second_slot})"


@dataclass(frozen=True)
class SlotPlan:
    """What a query's pieces leave to complete."""

    #: slot -> index of the query piece that fills it (the first, when pieces conflict)
    filled: Mapping[str, int]
    #: slot of each query piece, by index
    piece_slots: tuple[str, ...]
    #: slots the outfit may still fill, in the taxonomy's order: neither filled nor excluded by
    #: a filled slot (both base alternatives stay open until a piece picks one)
    open: tuple[str, ...]
    #: pieces that cannot be worn together, by index (empty: the query is one outfit)
    conflicts: tuple[Conflict, ...]


class OutfitRules:
    """The ``"outfit"`` section of a taxonomy, checked. Build it with :meth:`from_dict`."""

    def __init__(self, slots: Mapping[str, Slot], base: tuple[tuple[str, ...], ...]):
        self.slots = dict(slots)
        self.base = base
        #: category -> its slot
        self.slot_of: dict[str, str] = {c: s.name for s in self.slots.values() for c in s.categories}
        self.names: tuple[str, ...] = tuple(self.slots)

    # ---- loading ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, categories: Mapping[str, Any], groups: Mapping[str, Any], where: str) -> "OutfitRules":
        """Check the ``"outfit"`` object of a taxonomy whose ``categories`` (name -> an object
        with ``.group``) and ``groups`` are already checked. Errors name ``where`` (the file)
        and the key."""

        def fail(key: str, what: str) -> TaxonomyError:
            return TaxonomyError(f"{where}: {key}: {what}")

        if not isinstance(data, dict):
            raise fail("outfit", "must be an object with 'slots' and 'base'")
        extra = sorted(set(data) - {"slots", "base"})
        if extra:
            raise fail(f"outfit.{extra[0]}", "unknown key (known: slots, base)")
        raw_slots = data.get("slots")
        if not isinstance(raw_slots, dict) or not raw_slots:
            raise fail("outfit.slots", "must be a non-empty object of slots")
        order = list(categories)
        slot_of: dict[str, str] = {}
        parsed: dict[str, dict[str, Any]] = {}
        for name, s in raw_slots.items():
            key = f"outfit.slots.{name}"
            if not isinstance(s, dict):
                raise fail(key, "must be an object")
            extra = sorted(set(s) - set(SLOT_KEYS))
            if extra:
                raise fail(f"{key}.{extra[0]}", f"unknown key (known: {', '.join(SLOT_KEYS)})")
            cats: set[str] = set()
            for g in _names(s.get("groups", []), fail, f"{key}.groups"):
                if g not in groups:
                    raise fail(f"{key}.groups", f"unknown group {g!r}")
                cats |= {c for c, cat in categories.items() if cat.group == g}
            for c in _names(s.get("categories", []), fail, f"{key}.categories"):
                if c not in categories:
                    raise fail(f"{key}.categories", f"unknown category {c!r}")
                cats.add(c)
            if not cats:
                raise fail(key, "names no category (give 'groups' or 'categories')")
            for c in sorted(cats, key=order.index):
                if c in slot_of:
                    raise fail(key, f"category {c!r} already fills slot {slot_of[c]!r}; a category fills one slot")
                slot_of[c] = name
            optional = s.get("optional", False)
            if not isinstance(optional, bool):
                raise fail(f"{key}.optional", "must be true or false")
            display = s.get("display", name)
            if not isinstance(display, str) or not display:
                raise fail(f"{key}.display", "must be a non-empty string")
            parsed[name] = {
                "display": display,
                "categories": tuple(sorted(cats, key=order.index)),
                "optional": optional,
                "excludes": _names(s.get("excludes", []), fail, f"{key}.excludes"),
                "over": _names(s.get("over", []), fail, f"{key}.over"),
            }
        missing = [c for c in order if c not in slot_of]
        if missing:
            raise fail("outfit.slots", f"category {missing[0]!r} fills no slot; every category fills one")
        excludes: dict[str, set[str]] = {n: set() for n in parsed}
        for name, p in parsed.items():
            for field in ("excludes", "over"):
                for ref in p[field]:
                    if ref not in parsed:
                        raise fail(f"outfit.slots.{name}.{field}", f"unknown slot {ref!r}")
                    if ref == name:
                        raise fail(f"outfit.slots.{name}.{field}", "names the slot itself")
            for ref in p["excludes"]:
                excludes[name].add(ref)
                excludes[ref].add(name)
        raw_base = data.get("base")
        if not isinstance(raw_base, list) or not raw_base:
            raise fail("outfit.base", "must be a non-empty list of alternatives, each a list of slots")
        base: list[tuple[str, ...]] = []
        for i, alt in enumerate(raw_base):
            key = f"outfit.base[{i}]"
            names = _names(alt, fail, key)
            if not names:
                raise fail(key, "must name at least one slot")
            for ref in names:
                if ref not in parsed:
                    raise fail(key, f"unknown slot {ref!r}")
                if parsed[ref]["optional"]:
                    raise fail(key, f"slot {ref!r} is optional; a base slot cannot be")
                for other in base:
                    if ref in other:
                        raise fail(key, f"slot {ref!r} is in two base alternatives")
            for x in names:
                for y in names:
                    if y in excludes[x]:
                        raise fail(key, f"slots {x!r} and {y!r} exclude each other")
            base.append(tuple(names))
        for i, alt in enumerate(base):
            for j, other in enumerate(base[:i]):
                for x in alt:
                    for y in other:
                        if y not in excludes[x]:
                            raise fail(f"outfit.base[{i}]", f"slot {x!r} must exclude {y!r} of outfit.base[{j}] "
                                       "(an outfit holds one base alternative)")
        in_base = {s for alt in base for s in alt}
        slots = {
            name: Slot(name, p["display"], p["categories"], p["optional"], frozenset(excludes[name]),
                       tuple(p["over"]), name in in_base)
            for name, p in parsed.items()
        }
        return cls(slots, tuple(base))

    def to_dict(self) -> dict[str, Any]:
        """The section as data (every slot by its categories)."""
        out: dict[str, Any] = {}
        for s in self.slots.values():
            d: dict[str, Any] = {"categories": list(s.categories)}
            if s.display != s.name:
                d["display"] = s.display
            if s.optional:
                d["optional"] = True
            if s.excludes:
                d["excludes"] = [n for n in self.names if n in s.excludes]
            if s.over:
                d["over"] = list(s.over)
            out[s.name] = d
        return {"base": [list(a) for a in self.base], "slots": out}

    # ---- rules -----------------------------------------------------------------------------
    def conflicts(self, a: str, b: str) -> bool:
        """Whether slots ``a`` and ``b`` cannot both be in one outfit (the same slot, or excluded)."""
        return a == b or b in self.slots[a].excludes

    def categories_conflict(self, a: str, b: str) -> bool:
        """Whether two categories cannot be worn together (their slots conflict)."""
        return self.conflicts(self.slot_of[a], self.slot_of[b])

    def plan(self, categories: Sequence[str]) -> SlotPlan:
        """The slots a query's pieces (their categories, by index) fill, the slots left open,
        and the pieces that conflict. Unknown categories raise :class:`TaxonomyError`."""
        piece_slots = []
        for c in categories:
            if c not in self.slot_of:
                raise TaxonomyError(f"unknown category {c!r}")
            piece_slots.append(self.slot_of[c])
        filled: dict[str, int] = {}
        conflicts = []
        for j, sj in enumerate(piece_slots):
            for i in range(j):
                si = piece_slots[i]
                if self.conflicts(si, sj):
                    conflicts.append(Conflict(i, j, "same slot" if si == sj else "excludes",
                                              categories[i], categories[j], si, sj))
            filled.setdefault(sj, j)
        open_ = tuple(n for n in self.names
                      if n not in filled and not any(self.conflicts(n, f) for f in filled))
        return SlotPlan(filled, tuple(piece_slots), open_, tuple(conflicts))

    def violations(self, slots: Sequence[str]) -> list[str]:
        """The rules an outfit (the slot of each of its pieces, query pieces included) breaks,
        one readable line each; [] when it is a complete outfit."""
        out = []
        for j, sj in enumerate(slots):
            for si in slots[:j]:
                if si == sj:
                    out.append(f"two pieces in the {sj} slot")
                elif self.conflicts(si, sj):
                    out.append(f"{si} with {sj}")
        held = set(slots)
        for s in held:
            over = self.slots[s].over
            if over and not held & set(over):
                out.append(f"{s} over no {' or '.join(over)}")
        if not any(set(alt) <= held for alt in self.base):
            out.append("no complete base (" + " or ".join(" and ".join(a) for a in self.base) + ")")
        for s in self.slots.values():
            if s.required and s.name not in held:
                out.append(f"no {s.name}")
        return out


def _names(value: Any, fail, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise fail(key, "must be a list of names")
    if len(set(value)) != len(value):
        raise fail(key, "names one twice")
    return list(value)
