"""Words for counts in what StyGig prints: "1 item", "2 items", never "1 items" or "item(s)"."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and the noun in the right number: ``plural(1, "item")`` -> ``"1 item"``;
    ``nouns`` for an irregular plural (``plural(2, "category", "categories")``)."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"
