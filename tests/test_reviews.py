"""labkit.reviews: the generated 1-5 star reviews of lab 7, and labkit.docsearch's corpus."""

from __future__ import annotations

import pytest
import torch

from labkit import docsearch, reviews
from labkit.data import DatasetError


def test_same_seed_same_reviews_other_seed_other_reviews():
    a, b, c = reviews.make_reviews(50, seed=3), reviews.make_reviews(50, seed=3), reviews.make_reviews(50, seed=4)
    assert a.texts == b.texts and torch.equal(a.stars, b.stars)
    assert a.texts != c.texts
    assert reviews.reviews_sha256(a) == reviews.reviews_sha256(b) != reviews.reviews_sha256(c)


def test_lab_splits_match_their_checksums():
    sizes = {name: len(reviews.lab_split(name)) for name in reviews.SPLITS}
    assert sizes == {name: size for name, (size, _) in reviews.SPLITS.items()}
    with pytest.raises(ValueError, match="unknown split"):
        reviews.lab_split("leaderboard")


def test_a_changed_generator_is_refused(monkeypatch):
    monkeypatch.setitem(reviews.CHECKSUMS, "val", "0" * 64)
    with pytest.raises(DatasetError, match="checksum mismatch"):
        reviews.lab_split("val")


@pytest.mark.parametrize(("strengths", "stars"), [
    ([2, 2], 5), ([-2, -2, -2], 1), ([1, -1], 3), ([1, 1], 4), ([-1, -1, -1], 2),
    ([2, -1], 4),  # mean 0.5 rounds up
    ([-2, 1], 3),  # mean -0.5 rounds up too
    ([2, 2, -2], 4), ([-2, -2, 1], 2),
])
def test_stars_follow_the_mean_opinion(strengths, stars):
    assert reviews.stars_from_opinions(strengths) == stars


def test_stars_are_the_mean_opinion_up_to_one_star_of_rater_noise():
    r = reviews.make_reviews(3000, seed=11)
    clean = torch.tensor([reviews.stars_from_opinions([s for _, s in ops]) for ops in r.opinions])
    moved = r.stars != clean
    assert int((r.stars - clean).abs().max()) == 1
    assert 0.05 < float(moved.float().mean()) < 0.12  # one in ten, less where clipping at 1 or 5 keeps it
    counts = torch.bincount(r.stars, minlength=6)[1:]
    assert int(counts.min()) > 0.12 * len(r), f"stars should be roughly balanced, got {counts.tolist()}"
    assert torch.equal(r.labels, r.stars - 1)


def test_texts_say_what_the_flags_say():
    r = reviews.make_reviews(1000, seed=12)
    closers = [c for cs in reviews.CLOSERS.values() for c in cs]  # "would not return" is no negated opinion
    for text, negated, contrast in zip(r.texts, r.negated.tolist(), r.contrast.tolist()):
        assert text == text.lower()
        opinions = text
        for closer in closers:
            opinions = opinions.replace(closer, "")
        assert negated == any(n in f" {opinions} " for n in (" not ", " never ")), text
        assert contrast == (" but " in text), text
    assert 0.2 < float(r.negated.float().mean()) < 0.7 and 0.1 < float(r.contrast.float().mean()) < 0.6


def test_a_negated_clause_uses_a_word_of_the_opposite_polarity():
    r = reviews.make_reviews(2000, seed=13)
    positive_food = set(reviews.WORDS[("food", 1)][0])
    seen = 0
    for text, ops in zip(r.texts, r.opinions):
        for noun in reviews.NOUNS["food"]:
            for word in positive_food:
                if f"the {noun} was not {word}" in text or f"the {noun} was never {word}" in text:
                    seen += 1
                    assert ("food", -1) in ops, f"'{noun} was not {word}' should be a negative opinion: {text} {ops}"
    assert seen > 20


def test_rare_words_are_rare():
    r = reviews.make_reviews(500, seed=70)
    text = " ".join(r.texts)
    common = reviews.WORDS[("food", 1)][1][0]
    rare = reviews.WORDS[("food", 1)][1][-1]
    assert text.count(common) > 5 * max(1, text.count(rare))


def test_search_corpus_is_the_stdlib_docs_and_every_query_has_answers():
    names, texts = docsearch.stdlib_corpus()
    assert len(names) == len(texts) == len(docsearch.MODULES) > 100
    heapq = texts[names.index("heapq")]
    assert heapq.startswith("heapq: ") and "priority queue" in heapq
    relevant = docsearch.relevance(names)
    assert len(relevant) == len(docsearch.QUERIES)
    assert all(rel for rel in relevant)
    assert {q.kind for q in docsearch.QUERIES} == set(docsearch.KINDS)
