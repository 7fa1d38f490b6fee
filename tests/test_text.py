"""Unit tests for labkit.text: the review generator, vocabulary, padding, masks, char corpus."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from labkit import text


def test_reviews_are_deterministic_and_seed_dependent():
    a, b = text.make_reviews(50, seed=3), text.make_reviews(50, seed=3)
    assert a.texts == b.texts and a.subsets == b.subsets and torch.equal(a.labels, b.labels)
    assert text.make_reviews(50, seed=4).texts != a.texts


def test_reviews_shapes_subsets_and_balance():
    r = text.make_reviews(3000, seed=0)
    assert len(r) == 3000 and r.labels.shape == (3000,) and r.labels.dtype == torch.int64
    assert set(r.subsets) == set(text.SUBSETS)
    negated = r.subset_mask("negated")
    assert negated.dtype == torch.bool and 0.28 < negated.float().mean() < 0.39
    assert 0.45 < r.labels.float().mean() < 0.55
    for name in text.SUBSETS:  # both labels in both subsets
        assert 0.4 < r.labels[r.subset_mask(name)].float().mean() < 0.6
    with pytest.raises(ValueError):
        r.subset_mask("other")


def test_label_follows_sentiment_word_and_negation():
    positive = set(text.POSITIVE_ADJECTIVES + text.POSITIVE_VERBS)
    negative = set(text.NEGATIVE_ADJECTIVES + text.NEGATIVE_VERBS)
    r = text.make_reviews(500, seed=1)
    for t, label, subset in zip(r.texts, r.labels.tolist(), r.subsets):
        tokens = text.tokenize(t)
        pos, neg = sum(w in positive for w in tokens), sum(w in negative for w in tokens)
        assert pos + neg == 1, t  # exactly one sentiment word; distractors are neutral
        expected = int(pos == 1) if subset == "plain" else int(neg == 1)
        assert label == expected, (t, label, subset)
        has_negation = any(w in ("not", "never", "don't") for w in tokens)
        assert has_negation == (subset == "negated"), t


def test_variable_length_and_distractors():
    lengths = [len(text.tokenize(t)) for t in text.make_reviews(300, seed=2, max_distractors=2).texts]
    assert min(lengths) <= 6 and max(lengths) >= 25
    short = [len(text.tokenize(t)) for t in text.make_reviews(300, seed=2, max_distractors=0).texts]
    assert max(short) <= 13


def test_bag_of_words_fails_on_negated_reviews():
    train, test = text.make_reviews(1500, seed=0, max_distractors=1), text.make_reviews(1000, seed=1, max_distractors=1)
    vocab = text.Vocab.build(text.tokenize(t) for t in train.texts)

    def counts(reviews):
        x, _ = text.review_tensors(reviews, vocab)
        c = torch.zeros(len(x), len(vocab)).scatter_add_(1, x, torch.ones(x.shape))
        c[:, vocab.pad_id] = 0
        return c.numpy()

    clf = LogisticRegression(max_iter=2000).fit(counts(train), train.labels.numpy())
    pred, y = clf.predict(counts(test)), test.labels.numpy()
    plain, negated = test.subset_mask("plain").numpy(), test.subset_mask("negated").numpy()
    assert (pred[plain] == y[plain]).mean() > 0.88
    assert (pred[negated] == y[negated]).mean() < 0.3


def test_tokenize():
    assert text.tokenize("I don't think it's a BAD car at all!") == [
        "i", "don't", "think", "it's", "a", "bad", "car", "at", "all", "!"]
    assert text.tokenize("great, really.") == ["great", ",", "really", "."]


def test_vocab_roundtrip_and_specials():
    vocab = text.Vocab.build([["b", "a", "b"], ["c", "b", "a"]])
    assert vocab.itos[:2] == ["<pad>", "<unk>"] and vocab.pad_id == 0 and vocab.unk_id == 1
    assert vocab.itos[2:] == ["b", "a", "c"]  # most frequent first, ties alphabetical
    assert len(vocab) == 5
    assert vocab.encode(["a", "zzz"]) == [3, 1]
    assert vocab.decode([2, 3, 4]) == ["b", "a", "c"]
    assert text.Vocab.build([["x", "y", "y"]], min_freq=2).itos == ["<pad>", "<unk>", "y"]


def test_pad_sequences_and_mask():
    padded, lengths = text.pad_sequences([[5, 6, 7], [8], torch.tensor([9, 10])])
    assert torch.equal(padded, torch.tensor([[5, 6, 7], [8, 0, 0], [9, 10, 0]]))
    assert torch.equal(lengths, torch.tensor([3, 1, 2]))
    padded, lengths = text.pad_sequences([[1, 2, 3, 4], [5]], pad_id=9, max_len=2)
    assert torch.equal(padded, torch.tensor([[1, 2], [5, 9]])) and torch.equal(lengths, torch.tensor([2, 1]))
    mask = text.length_mask(torch.tensor([3, 1, 2]))
    assert torch.equal(mask, torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=torch.bool))
    assert text.length_mask(torch.tensor([1]), max_len=3).tolist() == [[True, False, False]]
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(1, 9, (int(n),), generator=g) for n in torch.randint(1, 12, (20,), generator=g)]
    padded, lengths = text.pad_sequences(seqs)
    assert torch.equal(padded, torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True))
    assert torch.equal(text.length_mask(lengths), padded != 0)


def test_review_tensors_match_encoding():
    reviews = text.make_reviews(20, seed=5)
    vocab = text.Vocab.build(text.tokenize(t) for t in reviews.texts)
    x, lengths = text.review_tensors(reviews, vocab)
    assert x.shape == (20, int(lengths.max())) and x.dtype == torch.int64
    for row, n, t in zip(x, lengths, reviews.texts):
        assert vocab.decode(row[:n]) == text.tokenize(t)
        assert (row[n:] == vocab.pad_id).all()
    assert ((x != vocab.unk_id) | (x == vocab.pad_id)).all()


def test_char_corpus_windows():
    corpus = text.char_corpus(["ab", "ba!"])
    assert corpus.text == "ab\nba!\n"
    assert corpus.itos == sorted(set("ab\nba!\n"))
    assert corpus.decode(corpus.encode("ab!")) == "ab!"
    assert corpus.decode(corpus.ids) == corpus.text
    x, y = corpus.windows(seq_len=3, stride=2)
    assert x.shape == y.shape and x.shape[1] == 3
    for xi, yi in zip(x, y):
        assert np.array_equal(xi[1:].numpy(), yi[:-1].numpy())
    starts = [corpus.text.index(corpus.decode(xi)) for xi in x[:1]]
    assert starts == [0]
    assert corpus.decode(y[-1])[-1] in corpus.text[-2:]
