"""Generated restaurant reviews with 1-5 stars, for the Yelp-style rating lab (lab 7).

These are **not real reviews**: a seeded generator writes them, so the lab runs offline and
every run sees the same data. Each review gives an opinion on two or three *aspects* (food,
service, price, ambience). An opinion has a polarity and a strength, ``s`` in {-2, -1, +1, +2}:

* a plain adjective is mild (``the food was tasty``: +1, ``the staff was slow``: -1);
* an intensifier or a strong word makes it strong (``really tasty``, ``delicious``: +2);
* a negation flips a mild opinion and keeps it mild (``the food was not tasty``: -1,
  ``the prices were not bad``: +1);
* two opposite opinions may be joined by a contrast (``great food but rude staff``).

The star rating is ``clip(floor(3 + mean(s) + 0.5), 1, 5)``, and one review in ten is then moved
one star up or down at random (real raters disagree with themselves), so no model reaches 100%.
Neutral clauses ("we came on a tuesday") pad reviews. Everything is a pure function of the seed.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

import torch

from labkit.data import DatasetError

ASPECTS = ("food", "service", "price", "ambience")
NOUNS = {
    "food": ("food", "pasta", "pizza", "burger", "sushi", "curry", "dessert", "soup"),
    "service": ("service", "staff", "waiter", "waitress", "server", "host"),
    "price": ("prices", "bill", "drinks", "wine list"),
    "ambience": ("atmosphere", "decor", "music", "place", "patio", "dining room"),
}
PLURAL_NOUNS = frozenset({"prices", "drinks"})
# (mild, strong) words per aspect and polarity, most common first: words are drawn with
# Zipf-like weights, so the rarer ones may never occur in a small training set (a bag of words
# has never seen them; a pretrained encoder knows what they mean).
WORDS = {
    ("food", 1): (("tasty", "good", "fresh", "nice", "flavorful", "decent", "yummy", "satisfying", "savory", "appetizing"),
                  ("delicious", "amazing", "outstanding", "superb", "excellent", "incredible", "divine", "exquisite", "heavenly", "scrumptious")),
    ("food", -1): (("bland", "greasy", "cold", "salty", "soggy", "stale", "dry", "overcooked", "tasteless", "mushy"),
                   ("disgusting", "inedible", "awful", "terrible", "revolting", "horrible", "nauseating", "vile", "atrocious", "repulsive")),
    ("service", 1): (("friendly", "helpful", "quick", "polite", "attentive", "kind", "efficient", "welcoming", "courteous", "prompt"),
                     ("wonderful", "fantastic", "excellent", "superb", "amazing", "exceptional", "impeccable", "stellar", "phenomenal", "flawless")),
    ("service", -1): (("slow", "rude", "careless", "unfriendly", "inattentive", "sloppy", "grumpy", "forgetful", "dismissive", "curt"),
                      ("horrible", "appalling", "awful", "terrible", "atrocious", "abysmal", "dreadful", "disgraceful", "insulting", "hostile")),
    ("price", 1): (("fair", "reasonable", "affordable", "cheap", "modest", "decent", "acceptable", "fine", "honest", "budget friendly"),
                   ("unbeatable", "fantastic", "excellent", "amazing", "incredible", "superb", "remarkable", "outstanding", "terrific", "marvelous")),
    ("price", -1): (("high", "steep", "overpriced", "pricey", "expensive", "inflated", "costly", "hefty", "excessive", "dear"),
                    ("outrageous", "ridiculous", "insane", "absurd", "extortionate", "criminal", "obscene", "scandalous", "shocking", "exorbitant")),
    ("ambience", 1): (("cozy", "pleasant", "nice", "relaxed", "comfortable", "charming", "calm", "bright", "inviting", "quiet"),
                      ("gorgeous", "stunning", "wonderful", "lovely", "beautiful", "magical", "breathtaking", "spectacular", "enchanting", "dazzling")),
    ("ambience", -1): (("noisy", "cramped", "dull", "dark", "crowded", "stuffy", "loud", "gloomy", "drab", "shabby"),
                       ("dreadful", "filthy", "awful", "terrible", "disgusting", "horrid", "squalid", "grim", "depressing", "revolting")),
}
ZIPF = tuple(1.0 / (rank + 1) ** 1.3 for rank in range(10))  # word weights, most common first
INTENSIFIERS = ("really", "very", "extremely", "super", "incredibly")
NEGATIONS = ("not", "never", "not at all")
NEUTRAL = (
    "we came here on a tuesday",
    "i went with my family",
    "we had a table for four",
    "it was my first visit",
    "we came for a birthday",
    "i ordered at the counter",
    "we sat near the window",
    "parking is on the street",
    "we booked a week ahead",
    "i came after work",
)
CLOSERS = {1: ("will come back", "highly recommend it", "five stars from me"), -1: ("never again", "avoid it", "would not return")}


@dataclass
class RatedReviews:
    """Generated reviews: ``texts[i]`` has ``stars[i]`` in 1..5 and ``opinions[i]`` (aspect, s) pairs."""

    texts: list[str]
    stars: torch.Tensor  # (N,) int64 in 1..5
    opinions: list[list[tuple[str, int]]]
    contrast: torch.Tensor  # (N,) bool: the review joins two opposite opinions with "but"
    negated: torch.Tensor  # (N,) bool: some opinion is negated

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def labels(self) -> torch.Tensor:
        """``(N,)`` int64 class ids 0..4 (= stars - 1), what a classifier predicts."""
        return self.stars - 1


def stars_from_opinions(strengths: list[int]) -> int:
    """The noise-free rating: ``clip(floor(3 + mean(s) + 0.5), 1, 5)`` for strengths in {-2, -1, 1, 2}."""
    mean = sum(strengths) / len(strengths)
    return max(1, min(5, math.floor(3 + mean + 0.5)))


def _pick(rng: random.Random, words: tuple[str, ...]) -> str:
    return rng.choices(words, weights=ZIPF[: len(words)])[0]


def _opinion_phrase(rng: random.Random, aspect: str, s: int) -> tuple[str, bool]:
    """A clause saying opinion ``s`` about ``aspect``; also whether it used a negation."""
    noun = rng.choice(NOUNS[aspect])
    verb = "were" if noun in PLURAL_NOUNS else "was"
    sign = 1 if s > 0 else -1
    negated = abs(s) == 1 and rng.random() < 0.3
    if negated:  # "not <mild opposite word>": flips the polarity, stays mild
        word = _pick(rng, WORDS[(aspect, -sign)][0])
        neg = rng.choice(NEGATIONS)
        if neg == "not at all":
            return f"the {noun} {verb} not {word} at all", True
        return f"the {noun} {verb} {neg} {word}", True
    mild, strong = WORDS[(aspect, sign)]
    if abs(s) == 2 and rng.random() < 0.5:
        word = f"{rng.choice(INTENSIFIERS)} {_pick(rng, mild)}"
    elif abs(s) == 2:
        word = _pick(rng, strong)
    else:
        word = _pick(rng, mild)
    if rng.random() < 0.35 and " " not in noun:
        return f"{word} {noun}", False  # "delicious pasta"
    return f"the {noun} {verb} {word}", False


def _review(rng: random.Random) -> tuple[str, int, list[tuple[str, int]], bool, bool]:
    latent = rng.choice((-2, -1, 0, 1, 2))  # the rater's overall mood, for balanced stars
    aspects = rng.sample(ASPECTS, rng.randint(2, 3))
    opinions = []
    for aspect in aspects:
        value = latent + rng.choice((-1, 0, 0, 1))
        value = max(-2, min(2, value)) or rng.choice((-1, 1))
        opinions.append((aspect, value))
    clauses, negated = [], False
    for aspect, s in opinions:
        phrase, neg = _opinion_phrase(rng, aspect, s)
        clauses.append(phrase)
        negated |= neg
    contrast = False
    for i in range(len(opinions) - 1):
        if (opinions[i][1] > 0) != (opinions[i + 1][1] > 0) and rng.random() < 0.7:
            clauses[i] = f"{clauses[i]} but {clauses[i + 1]}"
            clauses[i + 1] = ""
            contrast = True
            break
    clauses = [c for c in clauses if c]
    if rng.random() < 0.3:
        clauses.insert(0, rng.choice(NEUTRAL))
    stars = stars_from_opinions([s for _, s in opinions])
    if stars != 3 and rng.random() < 0.3:
        clauses.append(rng.choice(CLOSERS[1 if stars > 3 else -1]))
    if rng.random() < 0.1:  # rater noise
        stars = max(1, min(5, stars + rng.choice((-1, 1))))
    text = ". ".join(clauses) + rng.choice((".", "!", ""))
    return text, stars, opinions, contrast, negated


def make_reviews(n: int, seed: int = 0) -> RatedReviews:
    """Generate ``n`` rated reviews, deterministically from ``seed`` (any int, however large).

    Returns:
        :class:`RatedReviews` with lower-case texts and ``(n,)`` int64 stars in 1..5.
    """
    rng = random.Random(f"rated-reviews-{seed}")
    rows = [_review(rng) for _ in range(n)]
    return RatedReviews(
        texts=[r[0] for r in rows],
        stars=torch.tensor([r[1] for r in rows], dtype=torch.int64),
        opinions=[r[2] for r in rows],
        contrast=torch.tensor([r[3] for r in rows], dtype=torch.bool),
        negated=torch.tensor([r[4] for r in rows], dtype=torch.bool),
    )


def reviews_sha256(reviews: RatedReviews) -> str:
    """Checksum of the texts and stars (what a model sees and is graded on)."""
    digest = hashlib.sha256()
    for text, star in zip(reviews.texts, reviews.stars.tolist()):
        digest.update(f"{star}\t{text}\n".encode())
    return digest.hexdigest()


# The lab's splits: name -> (size, seed), and the checksum each must have. A changed generator
# changes the recorded answers of lab 7, so it must fail loudly here, not silently there.
SPLITS = {"train": (500, 70), "val": (100, 71), "test": (250, 72)}
CHECKSUMS: dict[str, str] = {
    "train": "4c06be6c04758e1304d20421f93d40ca97dc13dded974b48230243eedf6c5de5",
    "val": "a463ca45b4d9881927e58fafabf5c6856e9c39ee761ee75ca1e38798ccce82ba",
    "test": "eba1351a7811138b127c8255b50a6b1e0cb628670cad17fdf04111aafe912493",
}


def lab_split(name: str) -> RatedReviews:
    """One of the lab's checksummed splits (``"train"``, ``"val"``, ``"test"``).

    Raises:
        DatasetError if the generated reviews do not match their checksum.
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; use one of {sorted(SPLITS)}")
    size, seed = SPLITS[name]
    reviews = make_reviews(size, seed)
    actual = reviews_sha256(reviews)
    if actual != CHECKSUMS[name]:
        raise DatasetError(
            f"generated reviews ({name}): checksum mismatch (sha256 {actual[:12]}…, expected "
            f"{CHECKSUMS[name][:12]}…); labkit/reviews.py changed, so the lab's recorded answers are stale"
        )
    return reviews
