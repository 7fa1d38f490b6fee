"""Text for the sequence labs: a deterministic review-sentiment task, vocabularies, padding.

The review generator is the lecture's point in miniature: "I love this car!" is positive,
"I am not sure I love this car!" negative, "I don't think it's a bad car at all!" positive.
Every review carries one sentiment word (an adjective or a verb); in the ``"negated"``
subset a negation flips its meaning, in the ``"plain"`` subset it counts as written.
Neutral distractor clauses ("the box was blue") pad reviews to variable length.
Because negated reviews are a minority and the negation words are themselves neutral,
a bag of words learns "positive word = positive review" and gets the negated reviews
wrong, while a model that reads in order can get both right.

Everything is a pure function of its seed, so tests and notebooks see the same data.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

POSITIVE_ADJECTIVES = ("good", "great", "excellent", "wonderful", "amazing", "fantastic", "lovely", "superb")
NEGATIVE_ADJECTIVES = ("bad", "terrible", "awful", "horrible", "boring", "poor", "dreadful", "mediocre")
POSITIVE_VERBS = ("love", "like", "enjoy", "adore")
NEGATIVE_VERBS = ("hate", "dislike", "loathe", "regret")
NOUNS = ("car", "movie", "phone", "book", "hotel", "restaurant", "laptop", "camera", "album", "game")
INTENSIFIERS = ("", "", "really", "very", "truly", "quite", "pretty")
DISTRACTORS = (
    "i bought it last week",
    "the box was blue",
    "my friend told me about it",
    "it arrived on monday",
    "the price was fair",
    "i used it every day",
    "we went there in june",
    "it has a red cover",
    "the manual is long",
    "my sister has one too",
    "it came with a charger",
    "i read about it online",
    "we paid by card",
    "the shop was busy",
)

# {n}: noun, {a}: adjective, {v}: verb, {i}: optional intensifier. The sentiment word keeps
# its meaning in PLAIN templates and is flipped in NEGATED ones.
PLAIN_ADJ = (
    "this {n} is {i} {a}",
    "what a {i} {a} {n}",
    "the {n} was {i} {a}",
    "it is a {i} {a} {n}",
    "i think it is a {a} {n}",
    "honestly the {n} is {a}",
)
PLAIN_VERB = (
    "i {v} this {n}",
    "i {i} {v} this {n}",
    "we {v} the {n}",
    "i am sure i {v} this {n}",
)
NEGATED_ADJ = (
    "this {n} is not {i} {a}",
    "the {n} was never {a}",
    "it is not a {a} {n}",
    "i don't think it is a {a} {n} at all",
    "i do not think the {n} is {a}",
    "honestly the {n} is not {a}",
)
NEGATED_VERB = (
    "i do not {v} this {n}",
    "i am not sure i {v} this {n}",
    "we never {v} the {n}",
    "i don't {i} {v} this {n}",
)

SUBSETS = ("plain", "negated")
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[!?.,]")


@dataclass
class Reviews:
    """Generated reviews: ``texts[i]`` has label ``labels[i]`` (1 positive, 0 negative)."""

    texts: list[str]
    labels: torch.Tensor  # (N,) int64
    subsets: list[str]  # "plain" or "negated", one per review

    def __len__(self) -> int:
        return len(self.texts)

    def subset_mask(self, name: str) -> torch.Tensor:
        """(N,) bool: which reviews belong to subset ``name``."""
        if name not in SUBSETS:
            raise ValueError(f"unknown subset {name!r}; use one of {SUBSETS}")
        return torch.tensor([s == name for s in self.subsets], dtype=torch.bool)


def _review(rng: random.Random, negated: bool, max_distractors: int) -> tuple[str, int]:
    positive = rng.random() < 0.5
    use_verb = rng.random() < 0.4
    if use_verb:
        template = rng.choice(NEGATED_VERB if negated else PLAIN_VERB)
    else:
        template = rng.choice(NEGATED_ADJ if negated else PLAIN_ADJ)
    core = template.format(
        n=rng.choice(NOUNS),
        a=rng.choice(POSITIVE_ADJECTIVES if positive else NEGATIVE_ADJECTIVES),
        v=rng.choice(POSITIVE_VERBS if positive else NEGATIVE_VERBS),
        i=rng.choice(INTENSIFIERS),
    )
    before = [rng.choice(DISTRACTORS) for _ in range(rng.randint(0, max_distractors))]
    after = [rng.choice(DISTRACTORS) for _ in range(rng.randint(0, max_distractors))]
    clauses = before + [core] + after
    text = ", ".join(" ".join(c.split()) for c in clauses) + rng.choice("!.")
    label = int(positive != negated)
    return text, label


def make_reviews(
    n: int, seed: int = 0, negated_fraction: float = 1 / 3, max_distractors: int = 2
) -> Reviews:
    """Generate ``n`` labelled reviews, deterministically from ``seed``.

    Args:
        n: number of reviews.
        seed: the only source of randomness.
        negated_fraction: share of reviews whose sentiment word is negated.
        max_distractors: at most this many neutral clauses before and after the core.

    Returns:
        :class:`Reviews` with lower-case texts, ``(n,)`` int64 labels and subset names.
    """
    if not 0.0 <= negated_fraction <= 1.0:
        raise ValueError(f"negated_fraction must be in [0, 1], got {negated_fraction}")
    rng = random.Random(f"reviews-{seed}")
    texts, labels, subsets = [], [], []
    for _ in range(n):
        negated = rng.random() < negated_fraction
        text, label = _review(rng, negated, max_distractors)
        texts.append(text)
        labels.append(label)
        subsets.append("negated" if negated else "plain")
    return Reviews(texts, torch.tensor(labels, dtype=torch.int64), subsets)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; punctuation marks are tokens, "don't" stays one token."""
    return _TOKEN.findall(text.lower())


class Vocab:
    """Token <-> id map with ``<pad>`` = 0 and ``<unk>`` = 1."""

    PAD, UNK = "<pad>", "<unk>"

    def __init__(self, tokens: Sequence[str]):
        self.itos = [self.PAD, self.UNK] + [t for t in tokens if t not in (self.PAD, self.UNK)]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("duplicate tokens in the vocabulary")

    pad_id = 0
    unk_id = 1

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1) -> Vocab:
        """Vocabulary of every token seen at least ``min_freq`` times, most frequent first."""
        counts = Counter(t for tokens in token_lists for t in tokens)
        ordered = sorted(counts, key=lambda t: (-counts[t], t))
        return cls([t for t in ordered if counts[t] >= min_freq])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]


def encode_texts(texts: Sequence[str], vocab: Vocab) -> list[torch.Tensor]:
    """Tokenise and encode each text: a list of 1-d int64 tensors of varying length."""
    return [torch.tensor(vocab.encode(tokenize(t)), dtype=torch.int64) for t in texts]


def pad_sequences(
    seqs: Sequence[Sequence[int] | torch.Tensor], pad_id: int = 0, max_len: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad variable-length id sequences into one batch.

    Returns:
        padded: ``(B, T)`` int64 with ``T = max_len or the longest length``;
        lengths: ``(B,)`` int64 true lengths (clipped to ``T`` when ``max_len`` truncates).
    """
    rows = [torch.as_tensor(s, dtype=torch.int64).reshape(-1) for s in seqs]
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.int64)
    width = int(max_len if max_len is not None else (lengths.max() if len(rows) else 0))
    padded = torch.full((len(rows), width), pad_id, dtype=torch.int64)
    for i, r in enumerate(rows):
        r = r[:width]
        padded[i, : len(r)] = r
    return padded, lengths.clamp(max=width)


def length_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """``(B, T)`` bool mask, True at real tokens: ``mask[b, t] = t < lengths[b]``."""
    lengths = torch.as_tensor(lengths)
    width = int(max_len if max_len is not None else (lengths.max() if lengths.numel() else 0))
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def review_tensors(reviews: Reviews, vocab: Vocab, max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ``(N, T)`` token ids and ``(N,)`` lengths for ``reviews`` under ``vocab``."""
    return pad_sequences(encode_texts(reviews.texts, vocab), vocab.pad_id, max_len)


@dataclass
class CharCorpus:
    """A character-level corpus: the text, its alphabet and the encoded ids."""

    text: str
    itos: list[str]
    stoi: dict[str, int]
    ids: torch.Tensor  # (len(text),) int64

    def encode(self, s: str) -> torch.Tensor:
        return torch.tensor([self.stoi[c] for c in s], dtype=torch.int64)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.itos[int(i)] for i in ids)

    def windows(self, seq_len: int, stride: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-character training pairs: ``x, y`` of shape ``(M, seq_len)``, ``y`` = ``x`` shifted by one."""
        stride = stride or seq_len
        starts = torch.arange(0, len(self.ids) - seq_len, stride)
        idx = starts[:, None] + torch.arange(seq_len)[None, :]
        return self.ids[idx], self.ids[idx + 1]


def char_corpus(texts: Sequence[str], separator: str = "\n") -> CharCorpus:
    """Join ``texts`` with ``separator`` (which ends every text) into a :class:`CharCorpus`."""
    text = "".join(t + separator for t in texts)
    itos = sorted(set(text))
    stoi = {c: i for i, c in enumerate(itos)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.int64)
    return CharCorpus(text, itos, stoi, ids)
