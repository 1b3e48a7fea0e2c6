"""The contract: every query field and option, declared once, and the response's models.

Each field is one declaration here — name, type, range, default, alias, description and where it
applies — and everything else is derived from these declarations:

* the engine's validation: :meth:`Options.from_dict` (JSON values, or the strings of a query
  string, custom attributes or CLI flags);
* the JSON request model (:class:`stygig.serving.codec.RecommendRequest`, pydantic) and its JSON
  schema's limits (:func:`json_schema_limits`), hence the OpenAPI document;
* the ``/invocations`` query-string parameters of the OpenAPI document (:mod:`stygig.serving.app`);
* the CLI flags (:func:`add_cli_flags`, :func:`cli_options`), whose help gives ranges and defaults.

Roles (:attr:`Spec.role`):

* ``query`` — one way to give a query piece in a JSON body (:data:`QUERY_FIELDS`), or
  :data:`ITEMS`, the list of 1..:data:`MAX_PIECES` pieces each written with those fields;
* ``option`` — an engine option, a field of :class:`Options` (JSON body, query string,
  SageMaker custom attributes, CLI);
* ``response`` — shapes the response and is applied by the codec (:data:`RESPONSE_FIELDS`).

Ranges, choices and lengths marked for the engine are checked by :meth:`Options.from_dict` (and
:func:`check_text` for a query's ``text``), not by pydantic, so that a JSON value, a
query-string string and a CLI flag get the same message; ``wire_max_length`` is the codec's
transport limit, checked by pydantic while the body is decoded.

A new field is one entry: a :func:`option` field of :class:`Options`, or a :class:`Spec` in
:data:`QUERY_FIELDS` / :data:`RESPONSE_FIELDS`; a new *kind* of value also needs its converter in
:data:`_CONVERTERS` (and its pydantic type in the codec).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from stygig.errors import InvalidInput
from stygig.recommend import boost as boosts
from stygig.recommend import filters
from stygig.recommend.boost import Boost
from stygig.recommend.filters import Filter
from stygig.taxonomy import GENDERS, Taxonomy

#: longest item id or category the codec decodes
MAX_ID_CHARS = 256
#: longest ``image_s3_uri`` the codec decodes
MAX_S3_URI_CHARS = 1100

#: most pieces a query may hold (the ``items`` of a JSON body, the CLI's photos, ``--item`` and ``--text``)
MAX_PIECES = 8

KINDS = ("int", "number", "choice", "category", "ids", "bool", "text", "string", "base64", "pieces", "filters", "boost")
ROLES = ("query", "option", "response")


@dataclass(frozen=True)
class Spec:
    """One field of the contract."""

    name: str
    #: ``int`` | ``number`` | ``choice`` | ``category`` (one of the artifact's taxonomy) |
    #: ``ids`` (a list of item ids; a comma-separated string too) | ``bool`` | ``text`` |
    #: ``string`` | ``base64`` | ``pieces`` (a list of query pieces, each one of :data:`QUERY_FIELDS`)
    kind: str
    role: str
    #: what it is, one sentence fragment without its range or default (they are added)
    summary: str
    default: Any = None
    #: ``int`` / ``number``: inclusive range (checked by the engine)
    low: float | None = None
    high: float | None = None
    #: ``choice``: the values (checked by the engine, case-insensitively)
    choices: tuple[str, ...] = ()
    #: ``text``: most characters (checked by the engine); ``ids``, ``pieces``: most entries
    #: (checked by the engine, ``pieces`` by the codec)
    max_length: int | None = None
    max_items: int | None = None
    #: longest value the codec decodes (checked by pydantic)
    wire_max_length: int | None = None
    #: this field is another name of ``alias_of`` (the same value, validated under its own name)
    alias_of: str | None = None
    #: the CLI flag (``--top-k``); None: not a CLI flag
    cli: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.role not in ROLES:
            raise ValueError(f"schema field {self.name!r}: unknown kind {self.kind!r} or role {self.role!r}")

    @property
    def range_text(self) -> str:
        """``1..50``, ``at most 1000`` ... ('' when unbounded)."""
        if self.low is not None and self.high is not None:
            return f"{self.low:g}..{self.high:g}"
        if self.max_items is not None:
            return f"at most {self.max_items}"
        if self.max_length is not None:
            return f"at most {self.max_length} characters"
        return ""

    @property
    def description(self) -> str:
        """One line for the OpenAPI document and the CLI help: the summary, then range and default."""
        head = self.summary
        if self.alias_of is not None:
            return head + "."
        if self.choices:
            head = f"{', '.join(self.choices[:-1])} or {self.choices[-1]}: {head}"
        bits = [self.range_text] if self.range_text else []
        if not (self.default is None or self.default is False or self.default == ()):
            bits.append(f"default {self.default:g}" if isinstance(self.default, float) else f"default {self.default}")
        return head + (f" ({'; '.join(bits)})" if bits else "") + "."


_SPEC = "stygig.schema"


def option(default: Any, kind: str, summary: str, *, alias: str | None = None, alias_summary: str = "", **spec: Any) -> Any:
    """A field of :class:`Options` with its :class:`Spec` (``alias`` adds a second name)."""
    return field(default=default, metadata={_SPEC: dict(kind=kind, summary=summary, alias=alias,
                                                        alias_summary=alias_summary, spec=spec)})


# ---- the engine's options -------------------------------------------------------------------------
@dataclass
class Options:
    """What shapes an outfit besides the query. Build it with :meth:`from_dict` from what a user
    gave (every value checked), or directly in code."""

    top_k: int = option(5, "int", "How many items to recommend", low=1, high=50, cli="--top-k",
                        alias="n_recommendations", alias_summary="Alias of top_k (StyGig V4)")
    items_per_category: int = option(2, "int", "At most this many per category", low=1, high=10,
                                     cli="--items-per-category")
    min_score: float = option(0.0, "number", "Drop items scoring under this", low=0.0, high=1.0, cli="--min-score")
    gender: str | None = option(None, "choice", "only items for that gender (and unisex items)", choices=GENDERS,
                                wire_max_length=16, cli="--gender")
    category: str | None = option(None, "category", "Override the query's detected category",
                                  wire_max_length=MAX_ID_CHARS, cli="--category")
    exclude_ids: tuple[str, ...] = option((), "ids", "Item ids never to recommend", max_items=1000, cli="--exclude")
    filters: Filter | None = option(
        None, "filters",
        'Attribute filters every item passes, searched within (never a post-filter): JSON '
        '{"in_stock": true, "price": {"lte": 80, "gte": 10}, "brand": {"in": ["arlo"]}, "sizes": {"contains": "M"}, '
        '"not": {...}}; as text "price<=80", "brand in arlo,corin", "sizes contains M" (repeatable, ANDed)',
        cli="--filter",
        alias="filter", alias_summary="filters as text expressions, e.g. in_stock=true or price<=80 (repeatable, ANDed)")
    boost: Boost | None = option(
        None, "boost",
        'Number attributes that raise the score, by their rank in the catalog: JSON {"popularity": 0.1} (a '
        'negative weight favours low values: {"price": -0.1}); as text popularity=0.1 (repeatable). The score '
        'becomes (1 - W) x score + W x boost_score, W the weights\' sizes summed (at most 0.5)',
        cli="--boost")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], taxonomy: Taxonomy | None = None) -> "Options":
        """Validate user options (JSON body or query string, already parsed). Errors are
        :class:`~stygig.errors.InvalidInput` naming the field."""
        unknown = sorted(set(data) - set(OPTION_NAMES))
        if unknown:
            raise InvalidInput(f"unknown option(s): {', '.join(unknown)} (known: {', '.join(OPTION_NAMES)})")
        opts = cls()
        for spec in OPTION_FIELDS:
            if spec.alias_of is not None:
                continue
            for alias in _ALIASES.get(spec.name, ()):
                if alias.name in data and spec.name in data and data[alias.name] != data[spec.name]:
                    raise InvalidInput(f"{spec.name} and {alias.name} are aliases; give one")
            for given in (*_ALIASES.get(spec.name, ()), spec):
                if given.name in data:
                    value = _CONVERTERS[given.kind](data[given.name], given, taxonomy)
                    if value is not None:
                        setattr(opts, spec.name, value)
        return opts


def _option_specs() -> tuple[Spec, ...]:
    out = []
    for f in dataclasses.fields(Options):
        meta = f.metadata[_SPEC]
        out.append(Spec(f.name, meta["kind"], "option", meta["summary"], default=f.default, **meta["spec"]))
        if meta["alias"]:
            copied = {k: v for k, v in meta["spec"].items() if k not in ("cli",)}
            out.append(Spec(meta["alias"], meta["kind"], "option", meta["alias_summary"], alias_of=f.name, **copied))
    return tuple(out)


#: the engine's options in contract order (an alias right after its field)
OPTION_FIELDS: tuple[Spec, ...] = _option_specs()
OPTION_NAMES: tuple[str, ...] = tuple(s.name for s in OPTION_FIELDS)
_ALIASES: dict[str, tuple[Spec, ...]] = {
    s.name: tuple(a for a in OPTION_FIELDS if a.alias_of == s.name) for s in OPTION_FIELDS if s.alias_of is None
}

# ---- the query pieces (JSON) and the response options --------------------------------------------
TEXT = Spec("text", "text", "query", "A description; needs an artifact with a CLIP encoder", max_length=1000,
            cli="--text")
IMAGE = Spec("image", "base64", "query", "The garment picture, base64 (a data: URL is accepted)")
ITEM_ID = Spec("item_id", "string", "query", "An item of the catalog", wire_max_length=MAX_ID_CHARS, cli="--item")
#: the fields of one query piece: a body gives exactly one of them at its top level, or each
#: piece of :data:`ITEMS` gives exactly one
QUERY_FIELDS: tuple[Spec, ...] = (
    IMAGE,
    Spec("image_s3_uri", "string", "query",
         "s3://bucket/key of the picture; the bucket must be in STYGIG_ALLOWED_S3_BUCKETS",
         wire_max_length=MAX_S3_URI_CHARS),
    ITEM_ID,
    TEXT,
)
QUERY_NAMES: tuple[str, ...] = tuple(s.name for s in QUERY_FIELDS)
ITEMS = Spec("items", "pieces", "query",
             "The pieces worn together, each an object with exactly one of "
             + ", ".join(QUERY_NAMES[:-1]) + " or " + QUERY_NAMES[-1]
             + "; instead of a top-level one", max_items=MAX_PIECES)
RESPONSE_FIELDS: tuple[Spec, ...] = (
    Spec("include_thumbnails", "bool", "response",
         "Add each item's thumbnail to the response as a data: URL (`thumbnail_data`)", default=False),
)
#: every field of a JSON request, in order
REQUEST_FIELDS: tuple[Spec, ...] = QUERY_FIELDS + (ITEMS,) + OPTION_FIELDS + RESPONSE_FIELDS
FIELDS_BY_NAME: dict[str, Spec] = {s.name: s for s in REQUEST_FIELDS}


# ---- the engine's checks, one per kind ----------------------------------------------------------
def _parse_number(v: Any, s: Spec, cast: type, what: str) -> tuple[Any, Any, Any, str]:
    """(value, low, high, message): a string parsed with ``cast``; a bool refused."""
    lo, hi = cast(s.low), cast(s.high)
    msg = f"{s.name} must be {what} in [{lo}, {hi}]"
    if isinstance(v, bool):
        raise InvalidInput(msg)
    if isinstance(v, str):
        try:
            v = cast(v.strip())
        except ValueError:
            raise InvalidInput(msg) from None
    return v, lo, hi, msg


def _int(v: Any, s: Spec, _tax: Taxonomy | None) -> int:
    v, lo, hi, msg = _parse_number(v, s, int, "an integer")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or not lo <= v <= hi:
        raise InvalidInput(msg)
    return v


def _number(v: Any, s: Spec, _tax: Taxonomy | None) -> float:
    v, lo, hi, msg = _parse_number(v, s, float, "a number")
    if not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise InvalidInput(msg)
    return float(v)


def _choice(v: Any, s: Spec, _tax: Taxonomy | None) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or v.lower() not in s.choices:
        raise InvalidInput(f"{s.name} must be one of {', '.join(s.choices)}")
    return v.lower()


def _category(v: Any, s: Spec, taxonomy: Taxonomy | None) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or (taxonomy is not None and v not in taxonomy.categories):
        known = ", ".join(taxonomy.categories) if taxonomy else "the taxonomy's categories"
        raise InvalidInput(f"{s.name} must be one of {known}")
    return v


def _ids(v: Any, s: Spec, _tax: Taxonomy | None) -> tuple[str, ...] | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = [x for x in v.split(",") if x]
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise InvalidInput(f"{s.name} must be a list of item ids (strings)")
    if s.max_items is not None and len(v) > s.max_items:
        raise InvalidInput(f"{s.name} has {len(v)} ids; the limit is {s.max_items}")
    return tuple(v)


def _filters(v: Any, s: Spec, _tax: Taxonomy | None) -> Filter | None:
    """The shape of a filter (its names and value types are the artifact's to check)."""
    return filters.parse(v, s.name)


def _boost(v: Any, s: Spec, _tax: Taxonomy | None) -> Boost | None:
    """The shape of a boost (its attributes are the artifact's to check)."""
    return boosts.parse(v, s.name)


_CONVERTERS: dict[str, Callable[[Any, Spec, Taxonomy | None], Any]] = {
    "int": _int, "number": _number, "choice": _choice, "category": _category, "ids": _ids, "filters": _filters,
    "boost": _boost,
}


def check_text(value: Any, name: str = TEXT.name) -> str:
    """A text query as the engine accepts it (the message names ``name``: ``text``, ``items[2].text``)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be a non-empty string")
    if len(value) > TEXT.max_length:  # type: ignore[operator]
        raise InvalidInput(f"{name} is {len(value)} characters; the limit is {TEXT.max_length}")
    return value


def check_piece_count(n: int, name: str = ITEMS.name, how: str = "") -> None:
    """1..:data:`MAX_PIECES` pieces (``name``: ``items``, or how the CLI calls them; ``how``: what
    a piece is, for the empty case); the message names the first piece over the limit,
    ``items[8]``, when ``name`` is ``items``."""
    if n == 0:
        raise InvalidInput(f"{name} is empty; give 1 to {MAX_PIECES} pieces{how}")
    if n > MAX_PIECES:
        first_over = f" ({name}[{MAX_PIECES}] is one too many)" if name == ITEMS.name else ""
        raise InvalidInput(f"{name} has {n} pieces; the limit is {MAX_PIECES}{first_over}")


# ---- derived: JSON schema limits ----------------------------------------------------------------
def json_schema_limits(spec: Spec) -> dict[str, Any]:
    """The JSON-schema keywords that state what the engine checks (pydantic does not)."""
    if spec.kind in ("int", "number") and spec.low is not None:
        return {"minimum": spec.low, "maximum": spec.high}
    if spec.choices:
        return {"enum": list(spec.choices)}
    if spec.kind == "text" and spec.max_length is not None:
        return {"minLength": 1, "maxLength": spec.max_length}
    if spec.kind == "ids" and spec.max_items is not None:
        return {"maxItems": spec.max_items}
    if spec.kind == "pieces":
        return {"minItems": 1, "maxItems": spec.max_items}
    return {}


def document_limits(json_schema: dict[str, Any]) -> None:
    """Write the engine's limits into a request model's JSON schema, so that clients and fuzzers
    know what is valid."""
    for name, prop in json_schema.get("properties", {}).items():
        spec = FIELDS_BY_NAME.get(name)
        if spec is not None:
            document_field_limits(prop, spec)


def document_field_limits(prop: dict[str, Any], spec: Spec, limits: dict[str, Any] | None = None) -> None:
    """Write ``spec``'s limits (or ``limits``) into one property's schema: into each of its
    non-null branches, so that ``null`` (the field left out) stays valid."""
    extra = json_schema_limits(spec) if limits is None else limits
    if not extra:
        return
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") != "null":
            branch.update(extra)


# ---- derived: CLI flags -------------------------------------------------------------------------
def add_cli_flags(parser: argparse.ArgumentParser) -> None:
    """The engine's options as CLI flags (``--top-k`` ...), with help that gives range and default."""
    for s in OPTION_FIELDS:
        if s.cli is None:
            continue
        kw: dict[str, Any] = {"dest": s.name, "default": None, "help": s.description}
        if s.kind == "int":
            kw.update(type=int, metavar="N")
        elif s.kind == "number":
            kw.update(type=float, metavar="NUMBER")
        elif s.kind == "choice":
            kw["choices"] = list(s.choices)
        elif s.kind == "ids":
            kw.update(action="append", metavar="ID", help=s.description[:-1] + "; repeatable.")
        elif s.kind == "filters":
            kw.update(action="append", metavar="EXPR",
                      help="an attribute filter: in_stock=true, 'price<=80' (<, >, >=, !=), 'brand in arlo,corin', "
                           "'sizes contains M'; repeatable, ANDed.")
        elif s.kind == "boost":
            kw.update(action="append", metavar="NAME=WEIGHT",
                      help="raise the score by a number attribute's rank in the catalog: popularity=0.1 (a negative "
                           "weight favours low values: price=-0.1); repeatable, the weights' sizes at most 0.5 in all.")
        parser.add_argument(s.cli, **kw)


#: the CLI's query pieces: the positional photos, then ``--item`` and ``--text`` in the order given
CLI_PHOTOS = "images"
CLI_PIECES = "query_pieces"
#: a parser default naming the repeatable positional that may also follow options
#: (``recommend ART --item ID PHOTO``): :class:`stygig.cli.CommandParser` gathers it
TRAILING_POSITIONAL = "trailing_positional"


class _AppendPiece(argparse.Action):
    """``--item ID`` / ``--text T``: appended, with its kind, to one list (the order given)."""

    def __call__(self, parser, namespace, values, option_string=None):
        kinds = {ITEM_ID.cli: ITEM_ID.name, TEXT.cli: TEXT.name}
        found = list(getattr(namespace, CLI_PIECES, None) or [])
        found.append((kinds[option_string], values))
        setattr(namespace, CLI_PIECES, found)


def add_query_flags(parser: argparse.ArgumentParser) -> None:
    """The query's pieces as CLI arguments: photos (positional, repeatable), ``--item ID`` and
    ``--text T`` (each repeatable), 1..:data:`MAX_PIECES` in all."""
    total = f"1..{MAX_PIECES} pieces in all"
    parser.add_argument(CLI_PHOTOS, nargs="*", metavar="PHOTO", default=[],
                        help=f"a garment's picture (a file); repeatable ({total})")
    parser.set_defaults(**{TRAILING_POSITIONAL: CLI_PHOTOS})
    for s in (ITEM_ID, TEXT):
        parser.add_argument(s.cli, action=_AppendPiece, dest=CLI_PIECES, metavar=s.cli.strip("-").upper(),
                            help=f"{s.summary}; repeatable ({total}).")


def cli_pieces(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(kind, value, label) of each piece given: photos first, then ``--item`` / ``--text`` in
    order; labels name them as typed (``--item shirt-0003``). 1..:data:`MAX_PIECES` of them."""
    out = [("image", str(p), str(p)) for p in getattr(args, CLI_PHOTOS, None) or []]
    for kind, value in getattr(args, CLI_PIECES, None) or []:
        flag = ITEM_ID.cli if kind == ITEM_ID.name else TEXT.cli
        shown = value if kind == ITEM_ID.name else repr(value[:60])
        out.append((kind, value, f"{flag} {shown}"))
    check_piece_count(len(out), "the query", f" (photos, {ITEM_ID.cli} or {TEXT.cli})")
    return out


def cli_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options given as CLI flags, as :meth:`Options.from_dict` takes them."""
    out = {}
    for s in OPTION_FIELDS:
        if s.cli is not None and getattr(args, s.name, None) is not None:
            out[s.name] = getattr(args, s.name)
    return out


# ---- the response ---------------------------------------------------------------------------------
# its pydantic models are in stygig.response (the serving app documents its responses with them);
# what every consumer of an answer reads is here
def answer_items(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every catalog item an answer shows: the ranked list's, the outfit's pieces and their
    alternatives (what a server decorates with thumbnail links)."""
    out = list(response.get("recommendations") or [])
    for piece in (response.get("outfit") or {}).get("pieces") or []:
        out.append(piece)
        out.extend(piece.get("alternatives") or [])
    return out
