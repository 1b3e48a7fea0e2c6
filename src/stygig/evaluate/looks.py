"""Looks, fill-in-the-blank questions and compatibility outfits as JSON Lines files.

``looks.jsonl``, one curated look a line::

    {"look_id": "l-0001", "items": ["shirt-0003", "pants-0011", "shoes-0002"], "name": "office"}

``--fitb`` questions (Polyvore's protocol: the rest of a look, and candidates for the blank)::

    {"question": ["shirt-0003", "shoes-0002"], "answers": ["pants-0011", "pants-0004", ...], "answer": "pants-0011"}

``--compat`` outfits (a look or a corrupted one, with its label)::

    {"items": ["shirt-0003", "pants-0011", "shoes-0002"], "label": 1}

Reading checks the form (one-line errors naming the file and line: not JSON, a missing or
mistyped field, a look of one piece, an item named twice, a duplicate look id); resolving checks
the ids against an artifact's catalog (an unknown id names its line; a file most of whose ids
the catalog does not hold is said to be another catalog's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from stygig import jsonlines
from stygig.errors import StygigError


class LooksError(StygigError):
    """A looks, FITB or compatibility file that cannot be used as given."""

    code = "looks_error"


@dataclass(frozen=True)
class Look:
    look_id: str
    items: tuple[str, ...]
    name: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Question:
    """A fill-in-the-blank question: the rest of the look, the candidates, the right one."""

    question: tuple[str, ...]
    answers: tuple[str, ...]
    answer: str
    line: int = 0

    @property
    def answer_index(self) -> int:
        return self.answers.index(self.answer)


@dataclass(frozen=True)
class Outfit:
    """An outfit to score for compatibility AUC, with its label (1: a look, 0: not)."""

    items: tuple[str, ...]
    label: int
    line: int = 0


def _lines(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    path = Path(path)
    with open(path, encoding="utf-8-sig") as fh:
        yield from jsonlines.objects(fh, str(path), LooksError)


def _ids(path: Path, n: int, obj: dict[str, Any], key: str, *, min_len: int = 1) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        raise LooksError(f"{path} line {n}: missing {key!r}")
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise LooksError(f"{path} line {n}: {key!r} must be a list of item ids (strings)")
    seen: set[str] = set()
    for v in value:
        if v in seen:
            raise LooksError(f"{path} line {n}: {key!r} names item {v!r} twice")
        seen.add(v)
    if len(value) < min_len:
        raise LooksError(f"{path} line {n}: {key!r} is empty")
    return tuple(value)


def read_looks(path: str | Path) -> list[Look]:
    """Every look of a ``looks.jsonl`` file, in file order, its form checked."""
    path = Path(path)
    looks: list[Look] = []
    first_line: dict[str, int] = {}
    for n, obj in _lines(path):
        look_id = obj.get("look_id")
        if not isinstance(look_id, str) or not look_id:
            raise LooksError(f"{path} line {n}: 'look_id' must be a non-empty string")
        if look_id in first_line:
            raise LooksError(f"{path} line {n}: duplicate look_id {look_id!r} (first on line {first_line[look_id]})")
        first_line[look_id] = n
        items = _ids(path, n, obj, "items")
        if len(items) < 2:
            raise LooksError(f"{path} line {n}: look {look_id!r} has {len(items)} piece; a look needs at least two")
        name = obj.get("name")
        if name is not None and not isinstance(name, str):
            raise LooksError(f"{path} line {n}: 'name' must be a string")
        looks.append(Look(look_id, items, name, n))
    if not looks:
        raise LooksError(f"{path} holds no looks")
    return looks


def read_questions(path: str | Path) -> list[Question]:
    """Fill-in-the-blank questions, ``{"question": [...], "answers": [...], "answer": id}``."""
    path = Path(path)
    out: list[Question] = []
    for n, obj in _lines(path):
        question = _ids(path, n, obj, "question")
        answers = _ids(path, n, obj, "answers")
        answer = obj.get("answer")
        if not isinstance(answer, str) or answer not in answers:
            raise LooksError(f"{path} line {n}: 'answer' must be one of its 'answers'")
        if len(answers) < 2:
            raise LooksError(f"{path} line {n}: a question needs at least two 'answers'")
        overlap = sorted(set(question) & set(answers))
        if overlap:
            raise LooksError(f"{path} line {n}: item {overlap[0]!r} is both in 'question' and in 'answers'")
        out.append(Question(question, answers, answer, n))
    if not out:
        raise LooksError(f"{path} holds no questions")
    return out


def read_outfits(path: str | Path) -> list[Outfit]:
    """Compatibility outfits, ``{"items": [...], "label": 0 | 1}``."""
    path = Path(path)
    out: list[Outfit] = []
    for n, obj in _lines(path):
        items = _ids(path, n, obj, "items")
        if len(items) < 2:
            raise LooksError(f"{path} line {n}: an outfit needs at least two items")
        label = obj.get("label")
        if isinstance(label, bool) or label not in (0, 1):
            raise LooksError(f"{path} line {n}: 'label' must be 0 or 1")
        out.append(Outfit(items, int(label), n))
    if not out:
        raise LooksError(f"{path} holds no outfits")
    labels = {o.label for o in out}
    if labels != {0, 1}:
        raise LooksError(f"{path}: compatibility AUC needs outfits labelled 1 and 0, all are labelled {labels.pop()}")
    return out


class Resolver:
    """Item ids -> artifact rows, each unknown id an error naming the file's line.

    :meth:`check` first looks at the whole file: when most of the ids it names are not in the
    catalog, the file is taken for another catalog's (one error saying so, with a count), rather
    than reported one unknown id at a time."""

    def __init__(self, items, artifact: str | Path):
        self.items = items
        self.artifact = artifact

    def check(self, path: str | Path, records: Sequence[tuple[int, Sequence[str]]]) -> None:
        ids = sorted({i for _, ids in records for i in ids})
        unknown = [i for i in ids if self.items.row_of(i) is None]
        if not unknown:
            return
        if len(unknown) * 2 > len(ids):
            raise LooksError(
                f"{path} names items of another catalog: {len(unknown)} of its {len(ids)} item ids are not in "
                f"artifact {self.artifact} (e.g. {unknown[0]!r})"
            )
        bad = set(unknown)
        for line, ids_ in records:
            for i in ids_:
                if i in bad:
                    raise LooksError(f"{path} line {line}: unknown item {i!r} (not in artifact {self.artifact})")

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        return np.array([self.items.row_of(i) for i in ids], dtype=np.int64)
