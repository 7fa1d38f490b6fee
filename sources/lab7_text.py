# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 7 — Text as vectors: TF-IDF, embeddings, semantic search, and fine-tuning a pretrained encoder
#
# **Total: 43 points** — 39 autograded (visible checks + hidden tests) and 4 for one written answer graded by your TA. Hidden tests are decided by the course's *judge*: when your TA grades, your functions run on fresh
# inputs and the values they return are compared with the solution's, outside your notebook.
#
# The lectures went past attention to the question every text model starts with: *how do we turn words into
# numbers?* In this lab you will
#
# 1. (§1) compute **TF-IDF** by hand with the lecture's formula, `count of t · log(No. of docs / No. of docs containing t)`,
#    then get the same numbers from scikit-learn's `TfidfVectorizer` and see why its defaults differ;
# 2. (§2) rank documents by **cosine similarity** and measure a search engine with **recall@k**;
# 3. (§3) build a **keyword search** on real English text (Python's own module docs) and measure it;
# 4. (§4) load a real pretrained encoder (**all-MiniLM-L6-v2**, a 6-layer BERT) from local files and write the
#    **mean pooling** that turns its token vectors into one **sentence embedding**;
# 5. (§5) compare keyword search with **semantic search** on the same questions, and find where each one fails;
# 6. (§6) predict the **star rating (1–5) of restaurant reviews** three ways — TF-IDF + logistic regression, frozen
#    embeddings + logistic regression, and **fine-tuning** the encoder's top layer — and read their mistakes;
# 7. (§7) enter your best model in the class's **friendly match-up**: it is scored on reviews nobody has seen;
# 8. (§8–9) check your understanding with multiple-choice questions and one written answer.
#
# **How to work.** Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
# The cell after each exercise is a *visible check*: it prints `✓ ...` lines when you are right and a specific
# message when something differs. Hidden tests with fresh inputs are added when your TA grades, so make your code
# correct in general. Do not rename, copy or delete cells. Everything runs offline on a laptop CPU in well under a
# minute (about 40 s on two cores, loading the encoder included); with a GPU, an optional cell fine-tunes the whole
# encoder.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import copy

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from torch import nn

import labkit
from labkit import docsearch, encoder, reviews
from labkit.checks import (assert_accuracy, assert_choice, assert_close, assert_equal, assert_scalar, assert_tensor,
                           by_hand, expect_close, expect_equal, expect_scalar)

device = labkit.setup_lab(seed=0)

# %% [markdown]
# ## 1. Bag of words and TF-IDF, by hand
#
# A *bag of words* forgets the order of the words and keeps only how often each term occurs: document `d` becomes
# a row of counts `tf(t, d)` over a fixed vocabulary. Frequent words such as "the" dominate those counts while
# telling documents apart least, so the lecture weighs each count by the term's **inverse document frequency**:
#
# `tfidf(t, d) = tf(t, d) · log(N / df(t))`
#
# where `N` is the number of documents and `df(t)` the number of documents that contain `t` **at least once**
# (a document that says "good" twice counts once). `log` is the natural logarithm. A term in every document gets
# weight `log(1) = 0`.
#
# Our toy corpus has four one-line reviews; a document's tokens are its whitespace-separated words.

# %%
corpus = [
    "the food was good and the service was good",
    "the service was slow",
    "good food and cheap wine",
    "the wine was cheap",
]
token_lists = [doc.split() for doc in corpus]
vocab = sorted({t for tokens in token_lists for t in tokens})
print("vocabulary:", vocab)


# %% nbgrader={"grade": false, "grade_id": "tfidf_by_hand", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_matrix(token_lists: list[list[str]], vocab: list[str]) -> torch.Tensor:
    """Term counts.

    Args:
        token_lists: D documents, each a list of tokens.
        vocab: V distinct terms; tokens that are not in it are ignored.

    Returns:
        (D, V) float64 tensor: counts[d, j] = how often vocab[j] occurs in document d.
    """
    ### BEGIN SOLUTION
    index = {term: j for j, term in enumerate(vocab)}
    counts = torch.zeros(len(token_lists), len(vocab), dtype=torch.float64)
    for d, tokens in enumerate(token_lists):
        for token in tokens:
            if token in index:
                counts[d, index[token]] += 1
    return counts
    ### END SOLUTION


def idf_lecture(counts: torch.Tensor) -> torch.Tensor:
    """The lecture's inverse document frequency.

    Args:
        counts: (D, V) term counts; every term occurs in at least one document.

    Returns:
        (V,) float64: the lecture's idf of every term (natural log; df counts documents, not occurrences).
    """
    ### BEGIN SOLUTION
    n_docs = counts.shape[0]
    df = (counts > 0).sum(dim=0).to(torch.float64)
    return torch.log(n_docs / df)
    ### END SOLUTION


def tfidf_lecture(counts: torch.Tensor) -> torch.Tensor:
    """(D, V) float64 TF-IDF: counts[d, j] * idf[j] with the lecture's idf."""
    ### BEGIN SOLUTION
    return counts.to(torch.float64) * idf_lecture(counts)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_counts", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
# vocab: and, cheap, food, good, service, slow, the, was, wine
toy_counts = torch.tensor([[1, 0, 1, 2, 1, 0, 2, 2, 0], [0, 0, 0, 0, 1, 1, 1, 1, 0],
                           [1, 1, 1, 1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 0, 0, 1, 1, 1]], dtype=torch.float64)
counts = count_matrix(token_lists, vocab)
assert_close(counts, toy_counts, "counts of the toy corpus")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(7101)
_words = [f"w{i}" for i in range(12)]
_docs = [[_words[int(i)] for i in torch.randint(0, 12, (int(n),), generator=_g)] for n in torch.randint(1, 15, (6,), generator=_g)]
_docs.append([])  # an empty document
expect_close(count_matrix(_docs, _words[:9]), "counts with out-of-vocabulary tokens and an empty document")
expect_close(count_matrix(_docs[:3], list(reversed(_words))), "counts with a vocabulary in another order")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_idf", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
idf = idf_lecture(toy_counts.clone())
assert_tensor(idf, "idf of the toy corpus", shape=(9,), dtype=torch.float64)
log = torch.log
two, four, four_thirds = (torch.tensor(v, dtype=torch.float64) for v in (2.0, 4.0, 4 / 3))
# df: and 2, cheap 2, food 2, good 2, service 2, slow 1, the 3, was 3, wine 2 (of N = 4 documents)
expected_idf = torch.stack([log(two), log(two), log(two), log(two), log(two), log(four), log(four_thirds),
                            log(four_thirds), log(two)])
assert_close(idf, expected_idf, "idf of the toy corpus (index 0..8: and, cheap, food, good, service, slow, the, was, wine)")
assert_tensor(tfidf_lecture(toy_counts.clone()), "tf-idf of the toy corpus", shape=(4, 9), dtype=torch.float64)
assert_close(tfidf_lecture(toy_counts.clone()), toy_counts * expected_idf, "tf-idf of the toy corpus")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(7102)
for _shape in [(5, 7), (9, 4), (2, 11)]:
    _c = torch.randint(0, 4, _shape, generator=_g).to(torch.float64)
    _c[torch.randint(0, _shape[0], (_shape[1],), generator=_g), torch.arange(_shape[1])] += 1  # df >= 1
    _idf = idf_lecture(_c.clone())
    expect_equal(str(_idf.dtype), f"dtype of the idf of random counts {_shape}")
    expect_close(_idf, f"idf of random counts {_shape}")
    expect_close(tfidf_lecture(_c.clone()), f"tf-idf of random counts {_shape}")
### END HIDDEN TESTS

# %% [markdown]
# ### The same numbers from scikit-learn
#
# `sklearn.feature_extraction.text.TfidfVectorizer` computes TF-IDF, but its defaults are not the lecture's formula.
# Finding out how they differ is part of the exercise: read the *Tf–idf term weighting* section of scikit-learn's
# user guide, or run `help(TfidfVectorizer)` in a cell, and compare what it computes with `tf · log(N / df)` —
# the tokenizer, the idf formula (with and without its smoothing), and what happens to each row afterwards.
#
# Then use `TfidfVectorizer` (and anything else from scikit-learn or torch) to reproduce the lecture's numbers
# exactly: switch off what a setting can switch off, and undo with a little arithmetic what no setting can.
# The visible check uses the toy corpus and `["a bb a", "bb c"]`, whose one-letter words must count.

# %% nbgrader={"grade": false, "grade_id": "sklearn_tfidf", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lecture_tfidf_with_sklearn(texts: list[str]) -> tuple[torch.Tensor, list[str]]:
    """The lecture's TF-IDF, computed with scikit-learn's TfidfVectorizer.

    Args:
        texts: D lower-case documents; tokens are whitespace-separated words (keep one-letter words).

    Returns:
        tfidf: (D, V) float64 tensor, the lecture's count * log(N / df);
        terms: the V terms in the vectorizer's (alphabetical) column order.
    """
    ### BEGIN SOLUTION
    vectorizer = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, norm=None, smooth_idf=False, sublinear_tf=False)
    weighted = torch.tensor(vectorizer.fit_transform(texts).toarray(), dtype=torch.float64)
    idf_plus_one = torch.tensor(vectorizer.idf_, dtype=torch.float64)
    counts = weighted / idf_plus_one  # tf, since every idf_ is at least 1
    return counts * (idf_plus_one - 1), list(vectorizer.get_feature_names_out())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sklearn_tfidf", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
sk_tfidf, sk_terms = lecture_tfidf_with_sklearn(corpus)
assert_equal(list(sk_terms), vocab, "the vectorizer's terms")
assert_tensor(sk_tfidf, "scikit-learn tf-idf of the toy corpus", shape=(4, 9), dtype=torch.float64)
assert_close(sk_tfidf, toy_counts * expected_idf, "scikit-learn tf-idf of the toy corpus (lecture formula)")
tiny_tfidf, tiny_terms = lecture_tfidf_with_sklearn(["a bb a", "bb c"])  # one-letter words count too
assert_equal(list(tiny_terms), ["a", "bb", "c"], "terms of ['a bb a', 'bb c'] (one-letter words included)")
ln2 = torch.log(torch.tensor(2.0, dtype=torch.float64))
assert_close(tiny_tfidf, torch.stack([torch.stack([2 * ln2, 0 * ln2, 0 * ln2]), torch.stack([0 * ln2, 0 * ln2, ln2])]),
             "tf-idf of ['a bb a', 'bb c'] (bb is in every document: weight 0)")
### BEGIN HIDDEN TESTS
_names, _docs = docsearch.stdlib_corpus()
_clean = [" ".join("".join(ch if ch.isalpha() else " " for ch in doc.lower()).split()) for doc in _docs[:25]]
_t, _terms = lecture_tfidf_with_sklearn(_clean + ["a b a"])
expect_equal(list(_terms), "terms of the module-docs corpus")
expect_close(_t, "lecture tf-idf of the module-docs corpus via scikit-learn")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Cosine similarity, ranking, and recall@k
#
# Two documents are similar when their vectors point the same way, whatever their lengths:
# `cos(a, b) = a · b / (‖a‖ ‖b‖)`. A search engine scores every document against the query and returns the `k`
# best. Write the similarity of every row of `a` with every row of `b` (a row of zeros — a query with no known
# word — has similarity 0 with everything), and the top-`k` ranking.

# %% nbgrader={"grade": false, "grade_id": "cosine_topk", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cosine_similarity(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """All pairwise cosine similarities.

    Args:
        a: (N, F) vectors; b: (M, F) vectors.
        eps: rows with norm below eps count as all-zero and get similarity 0.

    Returns:
        (N, M) tensor, [i, j] = cos(a[i], b[j]), in a's dtype.
    """
    ### BEGIN SOLUTION
    a_unit = a / a.norm(dim=1, keepdim=True).clamp(min=eps)
    b_unit = b / b.norm(dim=1, keepdim=True).clamp(min=eps)
    return a_unit @ b_unit.T
    ### END SOLUTION


def top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """(Q, k) int64: for each row of scores (Q, M), the column indices of its k largest scores, best first."""
    ### BEGIN SOLUTION
    return scores.topk(k, dim=1).indices
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cosine", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
a = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [3.0, -1.0, 0.5]])
b = torch.tensor([[2.0, 0.0, 4.0], [0.0, 5.0, 0.0], [-1.0, 1.0, 1.0], [0.1, 0.2, 0.3]])
expected = F.cosine_similarity(a[:, None, :], b[None, :, :], dim=-1)
assert_close(cosine_similarity(a, b), expected, "cosine similarities (a zero row gives 0)")
assert_close(top_k(torch.tensor([[0.1, 0.9, 0.5], [0.7, 0.2, 0.3]]), 2), torch.tensor([[1, 2], [0, 2]]),
             "top-2 indices")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(7201)
for _n, _m, _f in [(4, 6, 3), (1, 9, 17), (7, 2, 5)]:
    _a = torch.randn(_n, _f, generator=_g, dtype=torch.float64) * torch.rand(_n, 1, generator=_g, dtype=torch.float64) * 10
    _b = torch.randn(_m, _f, generator=_g, dtype=torch.float64) * 100
    expect_close(cosine_similarity(_a.clone(), _b.clone()), f"cosine similarities of random vectors ({_n}, {_m}, {_f})")
    expect_close(top_k(torch.randn(_n, _m, generator=_g), min(_m, 2)), f"top-k of random scores ({_n}, {_m})")
### END HIDDEN TESTS

# %% [markdown]
# A search engine is good when the right documents come early. With `relevant[q]` the documents that answer
# query `q`, **recall@k** is the share of them that appear among the first `k` results, averaged over queries:
#
# `recall@k = mean over q of |top-k(q) ∩ relevant(q)| / |relevant(q)|`

# %% nbgrader={"grade": false, "grade_id": "recall_at_k", "locked": false, "schema_version": 3, "solution": true, "task": false}
def recall_at_k(ranked: torch.Tensor, relevant: list[list[int]], k: int) -> float:
    """Mean recall@k.

    Args:
        ranked: (Q, R) int64 document indices per query, best first (R >= k).
        relevant: Q non-empty lists of the relevant document indices.
        k: how many results count.

    Returns:
        a Python float in [0, 1].
    """
    ### BEGIN SOLUTION
    total = 0.0
    for row, wanted in zip(ranked.tolist(), relevant):
        total += len(set(row[:k]) & set(wanted)) / len(set(wanted))
    return total / len(relevant)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_recall", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
ranked_example = torch.tensor([[3, 1, 2, 0], [0, 2, 1, 3]])
relevant_example = [[1], [1, 3]]
assert_equal(type(recall_at_k(ranked_example, relevant_example, 2)).__name__, "float",
             "type of recall@2 (a Python float, not a tensor)")
assert_scalar(recall_at_k(ranked_example, relevant_example, 1), 0.0, "recall@1 of the example")
assert_scalar(recall_at_k(ranked_example, relevant_example, 2), 0.5, "recall@2 of the example")
assert_scalar(recall_at_k(ranked_example, relevant_example, 3), 0.75, "recall@3 of the example")
assert_scalar(recall_at_k(ranked_example, relevant_example, 4), 1.0, "recall@4 of the example")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(7301)
_ranked = torch.stack([torch.randperm(20, generator=_g) for _ in range(9)])
_relevant = [torch.randperm(20, generator=_g)[: int(n)].tolist() for n in torch.randint(1, 5, (9,), generator=_g)]
for _k in (1, 3, 7, 20):
    _r = recall_at_k(_ranked.clone(), _relevant, _k)
    expect_equal(type(_r).__name__, f"type of recall@{_k} of random rankings")
    expect_scalar(_r, f"recall@{_k} of random rankings")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Keyword search on real text
#
# Our search documents are real English written by people: the first paragraph of the docstring of 118
# standard-library modules of the Python that runs this notebook (`labkit.docsearch` reads them from the source
# files). The task: given a question, find the module. Each query comes with the modules that answer it and a
# *kind*: `keyword` (shares its words with the answer), `paraphrase` (says it in other words), `identifier`
# (an exact code such as `RFC 4122`) and `negation` ("... that is not ...").

# %%
names, docs = docsearch.stdlib_corpus()
queries = [q.text for q in docsearch.QUERIES]
relevant = docsearch.relevance(names)
kinds = [q.kind for q in docsearch.QUERIES]
print(len(docs), "documents, e.g.:")
for i in (names.index("heapq"), names.index("smtplib"), names.index("uuid")):
    print("  ", docs[i])
print(len(queries), "queries, e.g.:", [(q.text, q.relevant, q.kind) for q in docsearch.QUERIES[:2]])


# %% [markdown]
# Write a keyword search engine: a `TfidfVectorizer()` with scikit-learn's **default** settings, fitted on the
# **documents only** (a search engine knows its collection, not the questions it will be asked), queries
# transformed with it, your cosine similarity, your top-k.

# %% nbgrader={"grade": false, "grade_id": "keyword_search", "locked": false, "schema_version": 3, "solution": true, "task": false}
def keyword_search(query_texts: list[str], doc_texts: list[str], k: int) -> torch.Tensor:
    """(Q, k) int64 indices into doc_texts, best first, by cosine similarity of default TF-IDF vectors."""
    ### BEGIN SOLUTION
    vectorizer = TfidfVectorizer().fit(doc_texts)
    d = torch.tensor(vectorizer.transform(doc_texts).toarray())
    q = torch.tensor(vectorizer.transform(query_texts).toarray())
    return top_k(cosine_similarity(q, d), k)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_keyword_search", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
kw_ranked = keyword_search(queries, docs, 5)
assert_tensor(kw_ranked, "the keyword ranking (document indices)", shape=(len(queries), 5), dtype=torch.int64)
assert_equal(names[int(kw_ranked[0, 0])], "heapq", "first result for 'priority queue'")
assert_equal(names[int(kw_ranked[queries.index("RFC 4122"), 0])], "uuid", "first result for 'RFC 4122'")
for i in (3, 23, 24):  # a query's results must not depend on the other questions asked with it
    assert_equal(keyword_search(queries[i:i + 1], docs, 5).tolist(), kw_ranked[i:i + 1].tolist(),
                 f"results for {queries[i]!r} asked alone (must agree with its results in the batch of all queries: "
                 "is the vectorizer fitted on the documents only?)")
### BEGIN HIDDEN TESTS
_extra = ["debugger", "compress data with zlib", "parse a configuration file", "unique identifiers"]
expect_equal(keyword_search(_extra + queries[:3], docs, 3).tolist(), "keyword search rankings for other queries")
expect_equal(keyword_search(queries, docs[:60], 4).tolist(), "keyword search on half of the documents")
### END HIDDEN TESTS

# %% [markdown]
# How good is it? Recall@k per kind of query:

# %%
def recall_table(ranked: torch.Tensor, ks=(1, 3, 5)) -> dict[str, list[float]]:
    table = {}
    for kind in docsearch.KINDS + ("all",):
        rows = [i for i, k_ in enumerate(kinds) if kind in (k_, "all")]
        table[kind] = [recall_at_k(ranked[rows], [relevant[i] for i in rows], k) for k in ks]
    return table


def show(title: str, ranked: torch.Tensor) -> dict[str, list[float]]:
    table = recall_table(ranked)
    print(f"{title:<22} " + "  ".join(f"{kind:>10}" for kind in table) + "   (recall@1 / @3 / @5)")
    for i, k in enumerate((1, 3, 5)):
        print(f"{'':<18}@{k:<3} " + "  ".join(f"{table[kind][i]:>10.2f}" for kind in table))
    print(f"{'':<22} (a random ranking: recall@k = k / {len(docs)} = "
          + " / ".join(f"{k / len(docs):.2f}" for k in (1, 3, 5)) + ")")
    return table


kw_table = show("keyword (TF-IDF)", kw_ranked)
for i in (queries.index("send an email"), queries.index("keep a list sorted when inserting")):
    print(f"{queries[i]!r}: wanted {docsearch.QUERIES[i].relevant}, got {[names[j] for j in kw_ranked[i, :3]]}")

# %% [markdown]
# Keyword search is exact: it finds `RFC 4122` and `priority queue` at once, and knows nothing else. "send an
# email" shares no word with "SMTP/ESMTP client class", so its best matches are accidents.
#
# ## 4. Sentence embeddings from a pretrained encoder
#
# **all-MiniLM-L6-v2** is a 6-layer BERT encoder (hidden size 384) that sentence-transformers trained so that
# sentences with similar meaning get nearby vectors. It is installed with the course's packages and loaded from
# local files only: nothing is downloaded. Its tokenizer splits rare words into *WordPiece* pieces (`##` marks a
# piece that continues a word), adds `[CLS]` and `[SEP]`, and pads a batch to its longest text with `[PAD]`; the
# **attention mask** is 1 at real tokens and 0 at padding.

# %%
tokenizer, bert = encoder.load_encoder(device)
example = encoder.tokenize(tokenizer, ["The crème brûlée was scrumptious!", "RFC 4122"])
for ids, m in zip(example["input_ids"], example["attention_mask"]):
    print(tokenizer.convert_ids_to_tokens(ids.tolist()), m.tolist())
print(f"{sum(p.numel() for p in bert.parameters()) / 1e6:.1f} M parameters, {len(bert.encoder.layer)} layers")


# %% [markdown]
# The encoder returns one 384-dimensional vector per token, `hidden` of shape `(B, T, 384)`. The model's sentence
# embedding is the **mean of the token vectors over the real tokens** (padding excluded: a text must get the
# same embedding whatever it is batched with), then scaled to length 1. Write the pooling, then `embed`, which
# runs the encoder in batches (`encoder.sentence_embeddings(texts, tokenizer, bert, pool, batch_size, device)`
# applies a pooling function batch by batch) and normalises each row to unit length.

# %% nbgrader={"grade": false, "grade_id": "mean_pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors over real tokens.

    Args:
        hidden: (B, T, H) token vectors.
        mask: (B, T) 1 at real tokens, 0 at padding (any integer or bool dtype); every row has a real token.

    Returns:
        (B, H) in hidden's dtype: sum over t of mask[b, t] * hidden[b, t] / number of real tokens of b.
    """
    ### BEGIN SOLUTION
    weights = mask.to(hidden.dtype).unsqueeze(-1)  # (B, T, 1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    ### END SOLUTION


def embed(texts: list[str], batch_size: int = 64) -> torch.Tensor:
    """(N, 384) float32 sentence embeddings of unit length (mean pooling, then L2 normalisation), on the CPU."""
    ### BEGIN SOLUTION
    pooled = encoder.sentence_embeddings(texts, tokenizer, bert, mean_pool, batch_size, device)
    return F.normalize(pooled, dim=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mean_pool", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
hidden_example = torch.arange(24, dtype=torch.float32).reshape(2, 4, 3)
mask_example = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
assert_close(mean_pool(hidden_example, mask_example),
             torch.tensor([[1.5, 2.5, 3.5], [16.5, 17.5, 18.5]]), "mean pooling of a padded batch")
assert_close(mean_pool(hidden_example, mask_example.bool()), torch.tensor([[1.5, 2.5, 3.5], [16.5, 17.5, 18.5]]),
             "mean pooling with a bool mask")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(7401)
for _b, _t, _h in [(3, 7, 5), (1, 1, 4), (5, 9, 2)]:
    _x = torch.randn(_b, _t, _h, generator=_g, dtype=torch.float64)
    _lengths = torch.randint(1, _t + 1, (_b,), generator=_g)
    _mask = (torch.arange(_t)[None, :] < _lengths[:, None]).long()
    expect_close(mean_pool(_x.clone(), _mask.clone()), f"mean pooling of random ({_b}, {_t}, {_h})")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_embed", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
emb_example = embed(["the food was delicious", "send an email"])
assert_close(emb_example.norm(dim=1), torch.ones(2), "embedding lengths", atol=1e-5)
assert_close(emb_example[:, :4], torch.tensor([[-0.031616, 0.084490, 0.014147, 0.083336],
                                               [-0.018443, -0.018717, 0.058268, 0.019763]]),
             "first four numbers of two embeddings (the model's own sentence embeddings)", atol=2e-4)
alone = embed(["the food was delicious"])
with_long_neighbour = embed(["the food was delicious", "we waited an hour for a table " * 8])[:1]
assert_close(alone, with_long_neighbour, "an embedding does not depend on the padding of its batch", atol=1e-5)
### BEGIN HIDDEN TESTS
_texts = ["The staff were lovely, but the soup was cold.", "zipfile", "how do I send an email from python?",
          "a " * 300 + "end"]
expect_close(embed(_texts, batch_size=3), "embeddings of other texts (one longer than 256 tokens)", rtol=1e-4, atol=2e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Semantic search, and where each method fails
#
# Embed the documents once; a query is then embedded and compared with all of them. Write the search with your
# own `embed`, `cosine_similarity` and `top_k`.

# %% nbgrader={"grade": false, "grade_id": "semantic_search", "locked": false, "schema_version": 3, "solution": true, "task": false}
def semantic_search(query_texts: list[str], doc_embeddings: torch.Tensor, k: int) -> torch.Tensor:
    """(Q, k) int64 indices of the k documents whose embeddings (D, 384) are closest to each query's, best first."""
    ### BEGIN SOLUTION
    return top_k(cosine_similarity(embed(query_texts), doc_embeddings), k)
    ### END SOLUTION


# %%
doc_embeddings = embed(docs)
sem_ranked = semantic_search(queries, doc_embeddings, 5)

# %% nbgrader={"grade": true, "grade_id": "test_semantic_search", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
assert_tensor(sem_ranked, "the semantic ranking (document indices)", shape=(len(queries), 5), dtype=torch.int64)
assert_equal(names[int(sem_ranked[queries.index("send an email"), 0])], "smtplib", "first result for 'send an email'")
assert_equal(names[int(sem_ranked[queries.index("pick a random secure password"), 0])], "secrets",
             "first result for 'pick a random secure password'")
### BEGIN HIDDEN TESTS
expect_equal(sem_ranked[:, :3].tolist(), "top-3 semantic results for the course queries")
_extra = ["write a spreadsheet file", "find a bug step by step", "zip archive"]
expect_equal(semantic_search(_extra, doc_embeddings, 3).tolist(), "semantic search for other queries")
### END HIDDEN TESTS

# %%
sem_table = show("semantic (MiniLM)", sem_ranked)
fig, ax = plt.subplots(figsize=(8, 3.2))
width = 0.38
for j, (label, table) in enumerate([("keyword (TF-IDF)", kw_table), ("semantic (MiniLM)", sem_table)]):
    ax.bar([i + j * width for i in range(len(table))], [v[1] for v in table.values()], width, label=label)
ax.set_xticks([i + width / 2 for i in range(len(kw_table))], list(kw_table))
ax.axhline(3 / len(docs), color="gray", linestyle="--", label=f"a random ranking (3/{len(docs)} for one answer)")
ax.set(xlabel="kind of question", ylabel="recall@3 (1 = always in the top 3)", ylim=(0, 1.3),
       title="Which questions each search engine answers")
ax.legend(loc="upper center", ncol=3, fontsize=8)
plt.show()
for kind in ("paraphrase", "identifier", "negation"):
    for i in [i for i, k_ in enumerate(kinds) if k_ == kind][:3]:
        print(f"[{kind}] {queries[i]!r} (wanted {docsearch.QUERIES[i].relevant}): keyword -> "
              f"{[names[j] for j in kw_ranked[i, :3]]}, semantic -> {[names[j] for j in sem_ranked[i, :3]]}")
# where the answer ranks among all documents (1 = first; recall@3 counts ranks 1 to 3)
kw_full, sem_full = keyword_search(queries, docs, len(docs)), semantic_search(queries, doc_embeddings, len(docs))
for i in [i for i, k_ in enumerate(kinds) if k_ == "identifier"] + [queries.index("a compression library that is not bzip2")]:
    ranks = [f"{names[d]}: keyword {kw_full[i].tolist().index(d) + 1}, semantic {sem_full[i].tolist().index(d) + 1}"
             for d in relevant[i] + ([names.index("bz2")] if kinds[i] == "negation" else [])]
    print(f"[{kinds[i]}] {queries[i]!r} {tokenizer.tokenize(queries[i])}: rank of " + "; ".join(ranks))

# %% [markdown]
# Embeddings answer paraphrases that share no word with the answer ("send an email" → smtplib). Identifiers are
# another matter: read the last lines above. Keyword search puts the module that an identifier names first, because
# the identifier is a word of its documentation; semantic search still finds most of them, but not all with the
# same confidence (`RFC 4122` → uuid only third, which recall@3 still counts; `PEP 343` → contextlib outside the top
# 3 in our run). The list next to each query is how the tokenizer splits it. Neither method reads **negation**:
# for "a compression library that is not bzip2", bz2 itself (not an answer) comes first in both rankings. Real search
# engines combine both scores (*hybrid search*).
#
# ## 6. Review rating prediction, 1–5 stars
#
# The assignment in the lecture is Yelp review rating prediction. Real Yelp reviews cannot be shipped with the
# course, so **these reviews are generated** by `labkit.reviews` from a seed: not real people's words. Each review
# gives opinions on two or three aspects (food, service, price, ambience), mild or strong, sometimes negated
# ("the soup was never salty") or contrasted ("delicious curry but rude staff"); the stars follow the mean opinion,
# and one review in ten is moved a star up or down, as real raters are inconsistent. Some opinion words are rare:
# a small training set may never contain "scrumptious", which a pretrained encoder still understands — but only a
# handful of test reviews contain such a word (counted below), so do not expect this to move the accuracy much.
#
# Each split (`train`, `val`, `test`) holds `texts` (a list of strings), `stars` (an `(N,)` int64 tensor, 1..5),
# `labels` (= `stars - 1`, the **class ids 0..4** a classifier with five outputs predicts; the checks compare
# predictions with `labels`), and two `(N,)` bool masks: `contrast` (the review joins two opposite opinions with
# "but") and `negated` (some opinion is negated).

# %%
train, val, test = reviews.lab_split("train"), reviews.lab_split("val"), reviews.lab_split("test")
print(f"{len(train)} training, {len(val)} validation, {len(test)} test reviews; stars in training:",
      torch.bincount(train.stars, minlength=6)[1:].tolist())
for text, stars, label in list(zip(train.texts, train.stars.tolist(), train.labels.tolist()))[:6]:
    print(f"  {'★' * stars:<5} (label {label}) {text}")


def words(text: str) -> list[str]:
    return "".join(ch if ch.isalpha() else " " for ch in text.lower()).split()


seen = {w for text in train.texts for w in words(text)}
unseen = [text for text in test.texts if any(w not in seen for w in words(text))]
print(f"{len(unseen)} of {len(test)} test reviews contain a word that no training review contains, e.g.: {unseen[0]}")


# %% [markdown]
# ### Baseline 1: TF-IDF + logistic regression
#
# Write the classic baseline. Use exactly these settings, so that your numbers can be compared with everyone's:
# `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)` (words and word pairs: "not tasty" becomes
# a feature of its own) and `LogisticRegression(C=10.0, max_iter=1000)` trained on the stars. Fit the vectorizer on
# the **training texts only** (q3 below asks why). The visible check includes a tiny problem whose probabilities
# only these settings give.

# %% nbgrader={"grade": false, "grade_id": "tfidf_lr", "locked": false, "schema_version": 3, "solution": true, "task": false}
def tfidf_lr(train_texts: list[str], train_stars: torch.Tensor, test_texts: list[str]) -> torch.Tensor:
    """TF-IDF (words and bigrams) + logistic regression.

    Args:
        train_texts: N training reviews; train_stars: (N,) int64 stars in 1..5, every star at least once
            (true of every training set in this lab: `predict_proba` has one column per class it saw).
        test_texts: M reviews to rate.

    Returns:
        (M, 5) float64 tensor of class probabilities; column c is the probability of c + 1 stars.
    """
    ### BEGIN SOLUTION
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x_train = vectorizer.fit_transform(train_texts)
    classifier = LogisticRegression(C=10.0, max_iter=1000).fit(x_train, train_stars.numpy())
    return torch.from_numpy(classifier.predict_proba(vectorizer.transform(test_texts)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_tfidf_lr", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false}
tfidf_probs = tfidf_lr(train.texts, train.stars, test.texts)
assert_tensor(tfidf_probs, "TF-IDF + LR probabilities", shape=(len(test), 5), dtype=torch.float64)
assert_close(tfidf_probs.sum(dim=1), torch.ones(len(test), dtype=torch.float64), "probabilities sum to 1", atol=1e-6)
# the test reviews must not influence the model: rating fewer of them changes nothing
assert_close(tfidf_lr(train.texts, train.stars, test.texts[:40]), tfidf_probs[:40],
             "probabilities of the first 40 test reviews rated alone (must agree with rating all of them: "
             "is the vectorizer fitted on the training texts only?)",
             atol=1e-6, rtol=1e-5)
# a tiny problem: 40 generated reviews; scikit-learn's default settings give other numbers
tiny_train = reviews.make_reviews(40, seed=7503)
tiny_probs = tfidf_lr(tiny_train.texts, tiny_train.stars, ["the curry was delicious but the waiter was rude",
                                                           "not tasty and far too expensive"])
assert_close(tiny_probs, torch.tensor([[0.3644, 0.0455, 0.3086, 0.1669, 0.1147], [0.1515, 0.0651, 0.3608, 0.1868, 0.2358]],
                                      dtype=torch.float64), "probabilities of a tiny problem (the prescribed settings)",
             atol=2e-3)
# threshold: the reference reaches about 0.58 on these splits
assert_accuracy(tfidf_probs, test.labels, 0.5, "TF-IDF + LR: test accuracy")
### BEGIN HIDDEN TESTS
_tr, _te = reviews.make_reviews(300, seed=7501), reviews.make_reviews(60, seed=7502)
_probs = tfidf_lr(_tr.texts, _tr.stars.clone(), _te.texts)
expect_equal(str(_probs.dtype), "dtype of the TF-IDF + LR probabilities on other reviews")
expect_close(_probs, "TF-IDF + LR probabilities on other reviews", rtol=1e-4, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ### Encoding the reviews once
#
# The next two models read the encoder's hidden states. The encoder is the slow part, so we run it once over all
# reviews (batches of similar length, little padding) and keep two layers: the output of the last layer, for
# sentence embeddings, and its **input** (the output of layer 5), from which the fine-tuned model recomputes the
# last layer with its own weights. `states` is a dict keyed by layer, counted from the end as in a list:
# `states[-1]` is the last layer's output and `states[-2]` its input, each `(reviews, tokens, 384)`.

# %%
states, review_mask = encoder.hidden_states(train.texts + val.texts + test.texts, tokenizer, bert,
                                            layers=(-2, -1), device=device)
splits = {"train": slice(0, len(train)), "val": slice(len(train), len(train) + len(val)),
          "test": slice(len(train) + len(val), len(train) + len(val) + len(test))}
frozen = {name: F.normalize(mean_pool(states[-1][s], review_mask[s]), dim=1) for name, s in splits.items()}
print({name: tuple(v.shape) for name, v in frozen.items()}, "hidden states:", tuple(states[-2].shape))


# %% [markdown]
# ### Baseline 2: frozen embeddings + logistic regression
#
# The encoder stays as it was trained; only a linear classifier learns, on the 384-dimensional sentence
# embeddings. Use `LogisticRegression(C=10.0, max_iter=1000)` again.

# %% nbgrader={"grade": false, "grade_id": "frozen_lr", "locked": false, "schema_version": 3, "solution": true, "task": false}
def frozen_lr(train_embeddings: torch.Tensor, train_stars: torch.Tensor, test_embeddings: torch.Tensor) -> torch.Tensor:
    """Logistic regression on fixed embeddings.

    Args:
        train_embeddings: (N, F) float; train_stars: (N,) int64 in 1..5, every star at least once;
        test_embeddings: (M, F).

    Returns:
        (M, 5) float64 class probabilities (column c: c + 1 stars).
    """
    ### BEGIN SOLUTION
    classifier = LogisticRegression(C=10.0, max_iter=1000).fit(train_embeddings.numpy(), train_stars.numpy())
    return torch.from_numpy(classifier.predict_proba(test_embeddings.numpy())).to(torch.float64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_frozen_lr", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
frozen_probs = frozen_lr(frozen["train"], train.stars, frozen["test"])
assert_tensor(frozen_probs, "frozen + LR probabilities", shape=(len(test), 5), dtype=torch.float64)
tiny_x = torch.tensor([[0.0, 1.0], [1.0, 0.5], [2.0, 0.0], [3.0, 1.0], [4.0, 0.5],
                       [0.5, 0.0], [1.5, 1.0], [2.5, 0.5], [3.5, 0.0], [4.5, 1.0]])
tiny_probs = frozen_lr(tiny_x, torch.tensor([1, 2, 3, 4, 5, 1, 2, 3, 4, 5]), torch.tensor([[1.2, 0.3], [3.9, 0.8]]))
assert_close(tiny_probs, torch.tensor([[0.2562, 0.4273, 0.2967, 0.0197, 0.0001], [0.0000, 0.0022, 0.0273, 0.3086, 0.6619]],
                                      dtype=torch.float64), "probabilities of a tiny problem (C=10)", atol=2e-3)
# threshold: the reference reaches about 0.56 on these splits
assert_accuracy(frozen_probs, test.labels, 0.45, "frozen embeddings + LR: test accuracy")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(7601)
_x, _y = torch.randn(80, 6, generator=_g), torch.randint(1, 6, (80,), generator=_g)
expect_close(frozen_lr(_x.clone(), _y.clone(), torch.randn(10, 6, generator=_g)), "frozen + LR on random features",
             rtol=1e-4, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ### Fine-tuning the encoder's top layer
#
# Fine-tuning lets the encoder itself adapt to the task. On a CPU we train a copy of the **last transformer
# layer** plus a linear **head**; the five layers below stay frozen, so their output (`states[-2]`) can be
# computed once, as above. `encoder.run_layer(layer, hidden, mask)` applies a BERT layer with the padding mask.
#
# * `TopLayerRater(top_layer)`: `self.layer` = a deep copy of `top_layer` (the original must stay untouched),
#   `self.head = nn.Linear(384, 5)`; `forward(hidden, mask)` = run the layer, mean-pool the real tokens (no
#   normalisation), apply the head → `(B, 5)` logits.
# * `train_rater`: AdamW with learning rate `lr_layer` for the layer's parameters and `lr_head` for the head's
#   (other AdamW settings at their defaults), cross-entropy on `stars - 1` (class ids 0..4: with `stars` itself,
#   PyTorch stops with `IndexError: Target 5 is out of bounds`, or a device-side assert on a GPU). Precisely, so
#   that everyone's losses are the same numbers:
#   1. create **one** generator, `generator = torch.Generator().manual_seed(seed)`, before the first epoch (not
#      one per epoch);
#   2. each epoch (counted from 1 to `epochs`): put the model in training mode (`model.train()`: dropout on), draw
#      `order = torch.randperm(N, generator=generator)`, and take mini-batches `order[0:batch_size]`,
#      `order[batch_size:2 * batch_size]`, ... in that order (the last one may be smaller); one optimizer step
#      per mini-batch;
#   3. the epoch's loss is the mean over the epoch's **examples**, not over its mini-batches: add up
#      `loss.item() * (size of the mini-batch)` and divide by `N`;
#   4. return the list of the `epochs` epoch losses (Python floats), and leave the model in **evaluation mode**
#      (`model.eval()`: dropout off), ready to predict.
#
#   The visible check trains on 10 reviews in mini-batches of 4 with dropout switched off and compares the three
#   losses with worked numbers.

# %% nbgrader={"grade": false, "grade_id": "rater", "locked": false, "schema_version": 3, "solution": true, "task": false}
class TopLayerRater(nn.Module):
    """A copy of the encoder's last layer and a linear head: (B, T, 384) states of layer 5 -> (B, 5) logits."""

    def __init__(self, top_layer: nn.Module, n_classes: int = 5):
        super().__init__()
        ### BEGIN SOLUTION
        self.layer = copy.deepcopy(top_layer)
        self.head = nn.Linear(encoder.HIDDEN_SIZE, n_classes)
        ### END SOLUTION

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """hidden: (B, T, 384) input of the last layer; mask: (B, T). Returns (B, n_classes) logits."""
        ### BEGIN SOLUTION
        return self.head(mean_pool(encoder.run_layer(self.layer, hidden, mask), mask))
        ### END SOLUTION


def train_rater(model: TopLayerRater, hidden: torch.Tensor, mask: torch.Tensor, stars: torch.Tensor,
                epochs: int = 4, batch_size: int = 16, lr_layer: float = 5e-4, lr_head: float = 5e-3,
                seed: int = 0) -> list[float]:
    """Fine-tune model on (N, T, 384) hidden states with (N, T) mask and (N,) stars in 1..5 (the steps above).

    Returns:
        the `epochs` mean training losses per example (Python floats), epoch 1 first; the model is left in
        evaluation mode.
    """
    ### BEGIN SOLUTION
    optimizer = torch.optim.AdamW([{"params": model.layer.parameters(), "lr": lr_layer},
                                   {"params": model.head.parameters(), "lr": lr_head}])
    generator = torch.Generator().manual_seed(seed)
    targets = stars - 1
    losses = []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(hidden), generator=generator)
        total = 0.0
        for start in range(0, len(hidden), batch_size):
            rows = order[start : start + batch_size]
            width = int(mask[rows].sum(dim=1).max())  # no work on columns that are padding in the whole batch
            logits = model(hidden[rows, :width].to(device), mask[rows, :width].to(device))
            loss = F.cross_entropy(logits, targets[rows].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / len(hidden))
    model.train(False)  # evaluation mode
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rater_forward", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
probe = TopLayerRater(bert.encoder.layer[-1]).to(device).eval()
assert_equal(type(probe.head).__name__, "Linear", "type of the head")
assert_equal(tuple(probe.head.weight.shape), (5, 384), "shape of the head's weight")
_g = torch.Generator().manual_seed(7701)
with torch.no_grad():
    probe.head.weight.copy_(torch.randn(5, 384, generator=_g) * 0.1)
    probe.head.bias.copy_(torch.randn(5, generator=_g))
    # an untrained copy of the last layer recomputes the encoder's last hidden states
    got = probe(states[-2][:4].to(device), review_mask[:4].to(device)).cpu()
    want = probe.head(mean_pool(states[-1][:4], review_mask[:4]).to(device)).cpu()
assert_close(got, want, "logits of a fresh rater (pinned head) on 4 reviews", atol=1e-4, rtol=1e-4)
assert_close(torch.stack([p.detach().cpu().reshape(-1)[0] for p in probe.layer.parameters()]),
             torch.stack([p.detach().cpu().reshape(-1)[0] for p in bert.encoder.layer[-1].parameters()]),
             "the rater starts from the encoder's last layer")
assert_equal(probe.layer is not bert.encoder.layer[-1], True,
             "the rater holds its own copy of the layer (the encoder's layer stays untouched)")
### BEGIN HIDDEN TESTS
_x, _m = states[-2][-5:].to(device), review_mask[-5:].to(device)
with torch.no_grad():
    expect_close(probe(_x, _m).cpu(), "logits of a fresh rater (pinned head) on other reviews", rtol=1e-4, atol=1e-4)
    expect_close(probe(_x[:2, :7], torch.ones(2, 7, dtype=torch.int64, device=device)).cpu(),
                 "logits of a fresh rater without padding", rtol=1e-4, atol=1e-4)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_rater", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
# a worked example: dropout switched off in a copy of the layer, so that the losses are exact numbers
quiet_layer = copy.deepcopy(bert.encoder.layer[-1])
for module in quiet_layer.modules():
    if isinstance(module, nn.Dropout):
        module.p = 0.0


def pinned_rater(seed: int) -> TopLayerRater:
    """A rater on the dropout-free layer with a head drawn from a private generator."""
    model = TopLayerRater(quiet_layer).to(device)
    _g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.head.weight.copy_(torch.randn(5, 384, generator=_g) * 0.1)
        model.head.bias.zero_()
    return model


worked = pinned_rater(7702)
worked_losses = train_rater(worked, states[-2][:10], review_mask[:10], train.stars[:10], epochs=3, batch_size=4, seed=3)
assert_equal(type(worked_losses).__name__, "list", "type of what train_rater returns")
assert_equal([type(v).__name__ for v in worked_losses], ["float"] * 3,
             "types of the 3 epoch losses of the worked example (Python floats, e.g. from loss.item())")
# one generator for the whole run (re-seeding it every epoch gives [1.8778, 0.3506, 0.1489]); mean over the
# 10 examples (the mean over the 3 mini-batches of 4, 4 and 2 gives [1.7808, 0.4575, 0.1526])
assert_close(torch.tensor(worked_losses, dtype=torch.float64),
             torch.tensor([1.87775, 0.38289, 0.18092], dtype=torch.float64),
             "epoch losses of the worked example (10 reviews, mini-batches of 4, seed 3, no dropout)", atol=2e-3)
assert_equal(sum(m.training for m in worked.modules()), 0,
             "number of the rater's modules left in training mode after train_rater (evaluation mode: 0)")
### BEGIN HIDDEN TESTS
_losses = train_rater(pinned_rater(7703), states[-2][10:19], review_mask[10:19], train.stars[10:19], epochs=2,
                      batch_size=5, lr_layer=1e-4, lr_head=1e-2, seed=11)
expect_close(torch.tensor([float(v) for v in _losses], dtype=torch.float64),
             "epoch losses of another worked example (9 reviews, mini-batches of 5)", rtol=1e-3, atol=2e-3)
### END HIDDEN TESTS

# %%
torch.manual_seed(0)
rater = TopLayerRater(bert.encoder.layer[-1]).to(device)
rater_losses = train_rater(rater, states[-2][splits["train"]], review_mask[splits["train"]], train.stars)
with torch.no_grad():  # train_rater left the rater in evaluation mode (checked below)
    rater_logits = rater(states[-2][splits["test"]].to(device), review_mask[splits["test"]].to(device)).cpu()
print(f"training loss per epoch (epochs 1..{len(rater_losses)}):", [round(float(v), 3) for v in rater_losses],
      f"— guessing uniformly among 5 classes scores ln 5 = {torch.log(torch.tensor(5.0)):.3f}")

# %% nbgrader={"grade": true, "grade_id": "test_rater_accuracy", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
assert_equal(sum(m.training for m in rater.modules()), 0,
             "number of the lab's rater modules left in training mode (its test logits need dropout off)")
assert_equal(len(rater_losses), 4, "number of epochs")
assert_equal(rater_losses[-1] < rater_losses[0], True, "the training loss went down")
# threshold: the reference reaches 0.58-0.62 on five seeds
assert_accuracy(rater_logits, test.labels, 0.5, "fine-tuned top layer: test accuracy")
### BEGIN HIDDEN TESTS
with torch.no_grad():
    _val_logits = rater(states[-2][splits["val"]].to(device), review_mask[splits["val"]].to(device)).cpu()
assert_accuracy(_val_logits, val.labels, 0.42, "fine-tuned top layer: validation accuracy")
### END HIDDEN TESTS

# %% [markdown]
# ### Reading the mistakes
#
# A single accuracy hides *which* mistakes a model makes. Write the confusion matrix by hand: entry `[i, j]` counts
# the reviews of true class `i` predicted as class `j`. No library function that builds the table may appear in the
# cell, imported or called (`sklearn.metrics.confusion_matrix` and its relatives, `pandas.crosstab`,
# `numpy.histogram2d`, `torch.histogramdd`); a loop or `torch.bincount` is fine.

# %% nbgrader={"grade": false, "grade_id": "confusion", "locked": false, "schema_version": 3, "solution": true, "task": false}
def confusion_counts(predicted: torch.Tensor, true: torch.Tensor, n_classes: int = 5) -> torch.Tensor:
    """(n_classes, n_classes) int64: [i, j] = number of examples with true class i and predicted class j.

    Args:
        predicted, true: (N,) int64 class ids in 0..n_classes-1.
    """
    ### BEGIN SOLUTION
    matrix = torch.zeros(n_classes, n_classes, dtype=torch.int64)
    for p, t in zip(predicted.tolist(), true.tolist()):
        matrix[t, p] += 1
    return matrix
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_confusion", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
# every library function that builds the table (an import of one at the top of the cell counts too)
by_hand("confusion", [confusion_counts], forbidden=("confusion_matrix", "multilabel_confusion_matrix", "contingency_matrix",
        "pair_confusion_matrix", "ConfusionMatrixDisplay", "crosstab", "histogram2d", "histogramdd"),
        name="confusion matrix by hand")
assert_close(confusion_counts(torch.tensor([0, 1, 1, 2, 0]), torch.tensor([0, 1, 2, 2, 1]), 3),
             torch.tensor([[1, 0, 0], [1, 1, 0], [0, 1, 1]]), "confusion matrix of a small example")
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(7801)
_p, _t = torch.randint(0, 4, (50,), generator=_g), torch.randint(0, 4, (50,), generator=_g)
expect_close(confusion_counts(_p.clone(), _t.clone(), 6), "confusion matrix of random predictions (6 classes)")
### END HIDDEN TESTS

# %%
methods = {"TF-IDF + LR": tfidf_probs.argmax(1), "frozen + LR": frozen_probs.argmax(1),
           "fine-tuned top layer": rater_logits.argmax(1)}
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
for ax, (name, pred) in zip(axes, methods.items()):
    cm = confusion_counts(pred, test.labels)
    ax.imshow(cm, cmap="Blues")
    for i in range(5):
        for j in range(5):  # white numbers on dark cells, black on light ones
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set(title=name, xlabel="predicted stars", ylabel="true stars", xticks=range(5), yticks=range(5),
           xticklabels=range(1, 6), yticklabels=range(1, 6))
plt.tight_layout()
plt.show()
majority = int(torch.bincount(train.labels).argmax())  # the training set's most common class
baseline = {"accuracy": (test.labels == majority).float().mean(),
            "within 1 star": ((test.labels - majority).abs() <= 1).float().mean()}
n_contrast, n_negated = int(test.contrast.sum()), int(test.negated.sum())
print(f"share of the {len(test)} test reviews rated right; 'contrast' and 'negated' are the subsets of "
      f"{n_contrast} and {n_negated} reviews (one review = {1 / len(test):.3f} of the accuracy)")
print(f"{'':<22}{'accuracy':>9}{'within 1 star':>15}{f'contrast ({n_contrast})':>15}{f'negated ({n_negated})':>14}")
print(f"{f'always {majority + 1}★ (baseline)':<22}{baseline['accuracy']:>9.3f}{baseline['within 1 star']:>15.3f}")
for name, pred in methods.items():
    right = pred == test.labels
    print(f"{name:<22}{right.float().mean():>9.3f}{((pred - test.labels).abs() <= 1).float().mean():>15.3f}"
          f"{right[test.contrast].float().mean():>15.3f}{right[test.negated].float().mean():>14.3f}")
wrong = (methods["fine-tuned top layer"] != test.labels).nonzero().reshape(-1)[:5]
for i in wrong.tolist():
    print(f"true {test.stars[i]}★, fine-tuned says {int(methods['fine-tuned top layer'][i]) + 1}★, "
          f"TF-IDF says {int(methods['TF-IDF + LR'][i]) + 1}★: {test.texts[i]}")

# %% [markdown]
# **How big are these differences?** Be careful before crowning a winner. One test review is 0.004 of the
# accuracy, and with 250 test reviews an accuracy near 0.6 has a standard error of about
# √(0.6 · 0.4 / 250) ≈ 0.03: a gap smaller than about 0.06 between two models could be the luck of this test set
# (the contrast and negated columns rest on even fewer reviews). The validation set of 100 reviews is noisier
# still (± 0.05), so choosing a model or a setting by validation accuracy alone partly chooses by chance. The
# pretrained encoder's knowledge of rare words barely shows here, because only a handful of test reviews contain a
# word unseen in training (printed in section 6); on these generated reviews the bag of words is a strong baseline.
#
# Accuracy also hides *where* a model errs: read each confusion matrix row by row. In our run the fine-tuned rater
# rates most 1★ reviews as 2★ (its first row) while TF-IDF + LR sends some of them all the way to 5★; the
# within-1-star column forgives the first kind of error and not the second.

# %% [markdown]
# ### Optional, with a GPU: fine-tune the whole encoder
#
# On a CUDA GPU the next cell fine-tunes all six layers (tokens in, stars out) for three epochs. It is not graded,
# and on a CPU it is skipped: it would take several minutes there.

# %%
if device.type == "cuda":
    full = nn.ModuleDict({"bert": copy.deepcopy(bert), "head": nn.Linear(encoder.HIDDEN_SIZE, 5)}).to(device)
    optimizer = torch.optim.AdamW([{"params": full["bert"].parameters(), "lr": 5e-5},
                                   {"params": full["head"].parameters(), "lr": 3e-3}])
    order_gen = torch.Generator().manual_seed(0)

    def full_logits(texts: list[str]) -> torch.Tensor:
        batch = encoder.tokenize(tokenizer, texts, device=device)
        return full["head"](mean_pool(full["bert"](**batch).last_hidden_state, batch["attention_mask"]))

    for epoch in range(3):
        full.train()
        for rows in torch.randperm(len(train), generator=order_gen).split(32):
            loss = F.cross_entropy(full_logits([train.texts[i] for i in rows]), (train.stars[rows] - 1).to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        full.eval()
        with torch.no_grad():
            full_pred = torch.cat([full_logits(test.texts[i:i + 128]).argmax(1).cpu() for i in range(0, len(test), 128)])
        print(f"epoch {epoch + 1}: whole encoder fine-tuned, test accuracy {(full_pred == test.labels).float().mean():.3f}")
else:
    print("no CUDA GPU: skipping the whole-encoder fine-tuning (the top-layer model above is the CPU version)")


# %% [markdown]
# ## 7. The friendly match-up
#
# As in the lecture's Kaggle evaluation, your best model now meets the class. Write `predict_stars`: any model you
# like (one of the three above, a combination, a better-tuned one — train it in this cell or above, within a couple
# of minutes of CPU). Here you see its accuracy on the validation set — an estimate only if the model has not seen
# those reviews: fitting the final model on `train` and `val` together is fine, but then this number is flattering
# (the hidden reviews will not be).
#
# **How it is run.** When your TA grades, the grader runs your whole notebook from top to bottom in a fresh kernel,
# as *Restart & Run All* does; the hidden test in the cell below then calls `predict_stars` on **reviews that nobody
# has seen** (250, generated with a secret seed), in that same kernel. So `predict_stars` may use anything the cells
# above it define — `tokenizer`, `bert`, `rater`, `tfidf_lr`, ... — as long as a top-to-bottom run defines it (no
# variable that only exists because you ran cells out of order). Its predictions are scored outside your notebook,
# and `make report` shows the class leaderboard next to the three reference models.

# %% nbgrader={"grade": false, "grade_id": "predict_stars", "locked": false, "schema_version": 3, "solution": true, "task": false}
def predict_stars(texts: list[str]) -> torch.Tensor:
    """(N,) int64 tensor of predicted stars in 1..5 for N review texts, from your best model."""
    ### BEGIN SOLUTION
    hidden, mask = encoder.hidden_states(texts, tokenizer, bert, layers=(-2,), device=device)
    with torch.no_grad():
        logits = rater(hidden[-2].to(device), mask.to(device)).cpu()
    return logits.argmax(dim=1) + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_leaderboard", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false}
val_stars = predict_stars(val.texts)
assert_equal((type(val_stars).__name__, str(val_stars.dtype), tuple(val_stars.shape)),
             ("Tensor", "torch.int64", (len(val),)), "type, dtype and shape of the predicted stars")
assert_equal(bool(((val_stars >= 1) & (val_stars <= 5)).all()), True, "every prediction is 1..5 stars")
assert_accuracy(val_stars, val.stars, 0.4, "your model: validation accuracy")
### BEGIN HIDDEN TESTS
_lb_texts = reviews.make_reviews(250, seed=91_358_202_617).texts
assert_accuracy(predict_stars(list(_lb_texts)), reviews.make_reviews(250, seed=91_358_202_617).stars, 0.4,
                "leaderboard: your model")
assert_accuracy(tfidf_lr(train.texts, train.stars, list(_lb_texts)), reviews.make_reviews(250, seed=91_358_202_617).labels,
                0.4, "leaderboard: TF-IDF + LR")
assert_accuracy(frozen_lr(frozen["train"], train.stars, embed(list(_lb_texts))),
                reviews.make_reviews(250, seed=91_358_202_617).labels, 0.4, "leaderboard: frozen embeddings + LR")
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Check your understanding (multiple choice)
#
# Answer each question with one letter, e.g. `answers["q1"] = "a"`.
#
# **q1.** Every review of a corpus is copied once, so the corpus holds each document twice. What happens to the
# lecture's idf of each term?
# (a) nothing: N and df(t) both double  (b) every idf grows by log 2  (c) every idf is halved
# (d) a term in every document now gets a positive weight
#
# **q2.** Why does scikit-learn's `TfidfVectorizer` add 1 to the idf (`log(N / df) + 1`)?
# (a) to avoid dividing by zero for unseen terms  (b) so that terms occurring in every document still count
# (c) to make the rows unit length  (d) to make the logarithm base 10
#
# **q3.** A classmate fits the TF-IDF vectorizer on the training *and* test reviews, then reports a higher test
# accuracy. What is wrong?
# (a) nothing: more text gives better statistics
# (b) the test set's vocabulary and document frequencies leaked into the model, so the test score is optimistic
# (c) the vectorizer cannot be fitted twice  (d) logistic regression needs the test labels
#
# **q4.** For the query `PEP 343`, keyword search ranks contextlib first while semantic search leaves it out of
# its top 3 (section 5). What is the most likely reason?
# (a) the number's word pieces carry little of its exact value to the encoder, while the keyword match on "343"
# is exact  (b) the encoder is case-sensitive  (c) the tokenizer removes numbers before encoding
# (d) 384 dimensions cannot hold the names of all the modules

# %% nbgrader={"grade": false, "grade_id": "mcq_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answers = {}
### BEGIN SOLUTION
answers = {"q1": "a", "q2": "b", "q3": "b", "q4": "a"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q1", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q1 = assert_choice(answers.get("q1"), "abcd", "q1")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q2", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q2 = assert_choice(answers.get("q2"), "abcd", "q2")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q3", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q3 = assert_choice(answers.get("q3"), "abcd", "q3")

# %% nbgrader={"grade": true, "grade_id": "test_mcq_q4", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false}
q4 = assert_choice(answers.get("q4"), "abcd", "q4")

# %% [markdown]
# ## 9. Written answer (4 points, graded by your TA)
#
# Interpret your results in 6–10 sentences, citing the numbers you got: (1) which kinds of queries each search
# method answers and why (refer to the recall@3 chart and one example of each failure); (2) how the three rating
# models compare — accuracy, accuracy within one star, the contrast and negation subsets — and what the confusion
# matrices show about *which* stars get confused; (3) one reason the pretrained encoder does or does not beat
# TF-IDF on these generated reviews, and what you would expect on real Yelp reviews.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_text", "locked": false, "points": 4.0, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Keyword search answers the keyword and identifier queries (recall@3 near 1) but almost none of the
# paraphrases: "send an email" shares no word with "SMTP/ESMTP client class". Semantic search answers most
# paraphrases because the encoder maps "email" near "SMTP" and "mail", but it is less sure of identifiers: it ranks
# uuid only third for "RFC 4122" and leaves contextlib out of its top 3 for "PEP 343", whose number means little
# to it. Neither reads negation ("not bzip2" still ranks bz2 high). On the reviews all three models reach about
# 0.55–0.65 accuracy (the always-2-stars baseline: 0.19) and 0.88–0.97 within one star; the confusion matrices are
# concentrated on the diagonal and its neighbours, so the errors are mostly 2 vs 3 or 4 vs 5 stars, which a tenth
# of the labels (moved by one star) makes unavoidable. The gaps between the models are a few reviews to a few
# dozen, about the size of the ±0.03 standard error, so the ranking is not certain. TF-IDF with bigrams is strong
# here because the generated reviews reuse a small, fixed vocabulary and "not tasty" is a feature of its own; its
# weakness is rare words it never saw, but only about 10 of 250 test reviews contain one. Frozen embeddings are
# weak because mean pooling blends opposite opinions. On real Yelp reviews, with a far larger vocabulary, sarcasm
# and longer texts, fine-tuning the whole encoder is expected to win clearly.
# ### END SOLUTION
