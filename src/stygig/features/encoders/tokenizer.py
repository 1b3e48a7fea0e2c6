"""CLIP's byte-pair-encoding tokenizer, without torch.

A port of open_clip's ``SimpleTokenizer`` (itself copied from OpenAI CLIP, MIT licence, Copyright
(c) 2021 OpenAI) that returns numpy arrays. It reads the same gzip'd merges file that open_clip
ships (``bpe_simple_vocab_16e6.txt.gz``), which ``stygig export-clip`` copies next to the ONNX
towers, and produces exactly the token ids open_clip produces (``tests/test_clip_export.py``
checks this on unicode, punctuation, long and empty strings).

Only the plain truncating tokenizer is supported (``reduction_mask`` strategies are for training).
"""

from __future__ import annotations

import gzip
import html
import string
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

#: number of BPE merges CLIP uses from the vocab file (49152 - 256 - 2)
N_MERGES = 49152 - 256 - 2
SPECIAL_TOKENS = ("<start_of_text>", "<end_of_text>")
CLEAN_MODES = ("lower", "whitespace", "canonicalize")
MAX_CACHE = 50_000


@lru_cache()
def bytes_to_unicode() -> dict[int, str]:
    """The reversible byte -> printable unicode character table CLIP's BPE works on."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def _basic_clean(text: str) -> str:
    import ftfy

    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text))
    return text.strip()


def _whitespace_clean(text: str) -> str:
    return " ".join(text.split()).strip()


_PUNCTUATION = str.maketrans("", "", string.punctuation)


def _canonicalize(text: str) -> str:
    text = text.replace("_", " ").translate(_PUNCTUATION).lower()
    return " ".join(text.split()).strip()


def _clean(text: str, mode: str) -> str:
    if mode == "lower":
        return _whitespace_clean(_basic_clean(text)).lower()
    if mode == "whitespace":
        return _whitespace_clean(_basic_clean(text))
    if mode == "canonicalize":
        return _canonicalize(_basic_clean(text))
    raise ValueError(f"unknown tokenizer clean mode {mode!r} (known: {', '.join(CLEAN_MODES)})")


class ClipTokenizer:
    """``ClipTokenizer(vocab_path)(["a red shirt"]) -> int64 array (n, context_length)``."""

    def __init__(self, vocab_path: str | Path, *, context_length: int = 77, clean: str = "lower"):
        import regex

        if clean not in CLEAN_MODES:
            raise ValueError(f"unknown tokenizer clean mode {clean!r} (known: {', '.join(CLEAN_MODES)})")
        self.context_length = int(context_length)
        self.clean = clean
        self.byte_encoder = bytes_to_unicode()
        with gzip.open(vocab_path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(m.split()) for m in lines[1 : N_MERGES + 1]]
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab]
        vocab.extend("".join(m) for m in merges)
        vocab.extend(SPECIAL_TOKENS)
        self.encoder = {tok: i for i, tok in enumerate(vocab)}
        self.bpe_ranks = {m: i for i, m in enumerate(merges)}
        self.cache: dict[str, str] = {t: t for t in SPECIAL_TOKENS}
        self.pat = regex.compile(
            "|".join(SPECIAL_TOKENS) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )
        self.vocab_size = len(self.encoder)
        self.sot_token_id = self.encoder[SPECIAL_TOKENS[0]]
        self.eot_token_id = self.encoder[SPECIAL_TOKENS[1]]

    def bpe(self, token: str) -> str:
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = _pairs(word)
        if not pairs:
            return token + "</w>"
        ranks = self.bpe_ranks
        inf = float("inf")
        while True:
            bigram = min(pairs, key=lambda pair: ranks.get(pair, inf))
            if bigram not in ranks:
                break
            first, second = bigram
            new_word: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        out = " ".join(word)
        if len(self.cache) < MAX_CACHE:  # bounded: a server tokenizes untrusted text
            self.cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for token in self.pat.findall(_clean(text, self.clean)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids

    def __call__(self, texts: str | Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = [self.sot_token_id, *self.encode(text), self.eot_token_id]
            if len(tokens) > self.context_length:
                tokens = tokens[: self.context_length]
                tokens[-1] = self.eot_token_id
            out[row, : len(tokens)] = tokens
        return out


def _pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in zip(word[:-1], word[1:])}


class HFTokenizer:
    """A Hugging Face ``tokenizer.json`` run by the ``tokenizers`` library (Rust; no torch, no
    ``transformers``): SigLIP's SentencePiece tokenizer, as open_clip's ``HFTokenizer`` uses it
    -- the same text cleaning, then truncation and padding to ``context_length`` with ``pad_id``;
    with ``strip_sep_id`` set, that token becomes 0. ``stygig export-clip`` checks at export time
    that the ids equal open_clip's own tokenizer's and records these parameters.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        context_length: int,
        pad_id: int,
        clean: str = "whitespace",
        strip_sep_id: int | None = None,
    ):
        from tokenizers import Tokenizer

        if clean not in CLEAN_MODES:
            raise ValueError(f"unknown tokenizer clean mode {clean!r} (known: {', '.join(CLEAN_MODES)})")
        self.context_length = int(context_length)
        self.clean = clean
        self.strip_sep_id = strip_sep_id
        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.enable_truncation(max_length=self.context_length)
        self.tokenizer.enable_padding(length=self.context_length, pad_id=int(pad_id))

    def __call__(self, texts: str | Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        encoded = self.tokenizer.encode_batch([_clean(t, self.clean) for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64).reshape(len(texts), self.context_length)
        if self.strip_sep_id is not None:
            ids[ids == self.strip_sep_id] = 0
        return ids


#: tokenizer kinds an export may name (``export.json`` -> ``tokenizer`` -> ``kind``)
TOKENIZER_KINDS = ("clip-bpe", "hf-tokenizers")


def make_tokenizer(directory: str | Path, spec: dict):
    """The tokenizer an export describes; its file is ``spec["vocab"]`` inside ``directory``."""
    kind = spec.get("kind", "clip-bpe")
    path = Path(directory) / spec["vocab"]
    if kind == "clip-bpe":
        return ClipTokenizer(path, context_length=int(spec["context_length"]), clean=spec.get("clean", "lower"))
    if kind == "hf-tokenizers":
        return HFTokenizer(
            path,
            context_length=int(spec["context_length"]),
            pad_id=int(spec["pad_id"]),
            clean=spec.get("clean", "whitespace"),
            strip_sep_id=spec.get("strip_sep_id"),
        )
    raise ValueError(f"unknown tokenizer kind {kind!r} (known: {', '.join(TOKENIZER_KINDS)})")
