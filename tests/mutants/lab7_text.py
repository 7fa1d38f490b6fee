from mutants import Alternative, Mutant

MUTANTS = [
    Mutant("tfidf_by_hand", "return torch.log(n_docs / df)", "return n_docs / df", ("test_idf",),
           "idf without the log"),
    Mutant("tfidf_by_hand", "df = (counts > 0).sum(dim=0).to(torch.float64)", "df = counts.sum(dim=0).to(torch.float64)",
           ("test_idf",), "document frequency counted per occurrence instead of per document"),
    Mutant("sklearn_tfidf", "smooth_idf=False", "smooth_idf=True", ("test_sklearn_tfidf",),
           "keeps scikit-learn's smoothed idf"),
    Mutant("sklearn_tfidf", 'token_pattern=r"\\S+", ', "", ("test_sklearn_tfidf",),
           "default token pattern drops one-letter words"),
    Mutant("cosine_topk", "return a_unit @ b_unit.T", "return a @ b.T", ("test_cosine",),
           "cosine similarity without normalisation (a dot product)"),
    Mutant("recall_at_k", "set(row[:k])", "set(row[:k + 1])", ("test_recall",), "recall@k off by one"),
    Mutant("keyword_search", "TfidfVectorizer().fit(doc_texts)", "TfidfVectorizer().fit(doc_texts + query_texts)",
           ("test_keyword_search",), "queries leak into the vectorizer's fit"),
    Mutant("mean_pool", "return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)",
           "return hidden.mean(dim=1)", ("test_mean_pool", "test_embed"), "pools over padding tokens too"),
    Mutant("mean_pool", "return F.normalize(pooled, dim=1)", "return pooled", ("test_embed",),
           "sentence embeddings not normalised"),
    Mutant("tfidf_lr", "x_train = vectorizer.fit_transform(train_texts)",
           "vectorizer.fit(list(train_texts) + list(test_texts))\n    x_train = vectorizer.transform(train_texts)",
           ("test_tfidf_lr",), "test set leaks into the vectorizer's fit"),
    Mutant("frozen_lr", "LogisticRegression(C=10.0, max_iter=1000)", "LogisticRegression(max_iter=1000)",
           ("test_frozen_lr",), "ignores the prescribed regularisation"),
    Mutant("rater", "self.layer = copy.deepcopy(top_layer)", "self.layer = top_layer", ("test_rater_forward",),
           "trains the encoder's own layer instead of a copy"),
    Mutant("rater", "targets = stars - 1", "targets = stars", ("test_train_rater",),
           "stars 1..5 used as class ids 0..4"),
    Mutant("confusion", """    matrix = torch.zeros(n_classes, n_classes, dtype=torch.int64)
    for p, t in zip(predicted.tolist(), true.tolist()):
        matrix[t, p] += 1
    return matrix
    ### END SOLUTION""", """    return torch.as_tensor(confusion_matrix(true.numpy(), predicted.numpy(), labels=list(range(n_classes))))
    ### END SOLUTION


from sklearn.metrics import confusion_matrix""", ("test_confusion",),
           "scikit-learn's confusion_matrix imported at the cell level and called by its bare name"),
    Mutant("tfidf_by_hand", "df = (counts > 0).sum(dim=0).to(torch.float64)", "df = (counts > 0).sum(dim=0).to(torch.float32)",
           ("test_idf",), "idf in float32 where float64 is promised"),
    Mutant("recall_at_k", "return total / len(relevant)", "return torch.tensor(total / len(relevant))", ("test_recall",),
           "recall@k as a 0-d tensor where a Python float is promised"),
    Mutant("keyword_search", "return top_k(cosine_similarity(q, d), k)", "return cosine_similarity(q, d).topk(k, dim=1)",
           ("test_keyword_search",), "returns torch.topk's (values, indices) pair instead of the indices"),
    Mutant("tfidf_lr", "vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)",
           "vectorizer = TfidfVectorizer()", ("test_tfidf_lr",), "ignores the prescribed vectorizer settings"),
    Mutant("tfidf_lr", "LogisticRegression(C=10.0, max_iter=1000).fit(x_train", "LogisticRegression().fit(x_train",
           ("test_tfidf_lr",), "ignores the prescribed regularisation (C=1 by default)"),
    Mutant("tfidf_lr", "return torch.from_numpy(classifier.predict_proba(vectorizer.transform(test_texts)))",
           "return torch.from_numpy(classifier.predict_proba(vectorizer.transform(test_texts))).float()",
           ("test_tfidf_lr",), "probabilities in float32 where float64 is promised"),
    Mutant("rater", "        model.train()\n        order = torch.randperm(len(hidden), generator=generator)",
           "        model.train()\n        generator = torch.Generator().manual_seed(seed)\n"
           "        order = torch.randperm(len(hidden), generator=generator)",
           ("test_train_rater",), "re-seeds the generator every epoch (the same order in every epoch)"),
    Mutant("rater", "            total += loss.item() * len(rows)\n        losses.append(total / len(hidden))",
           "            total += loss.item()\n        losses.append(total / -(-len(hidden) // batch_size))",
           ("test_train_rater",), "epoch loss as the mean over mini-batches instead of over examples"),
    Mutant("rater", "    model.train(False)  # evaluation mode\n", "", ("test_train_rater",),
           "leaves the model in training mode (dropout on when it predicts)"),
    Mutant("rater", "total += loss.item() * len(rows)", "total += loss.detach() * len(rows)", ("test_train_rater",),
           "epoch losses as tensors instead of Python floats"),
    Mutant("confusion", "matrix[t, p] += 1", "matrix[p, t] += 1", ("test_confusion",), "transposed confusion matrix"),
    Mutant("predict_stars", "return logits.argmax(dim=1) + 1", "return logits.argmax(dim=1)", ("test_leaderboard",),
           "class ids 0..4 instead of stars 1..5"),
    Mutant("mcq_answers", '"q2": "b"', '"q2": "a"', ("test_mcq_q2",), "wrong multiple-choice answer",
           hidden_only=True),
]

_TRIMMED = ("            width = int(mask[rows].sum(dim=1).max())  # no work on columns that are padding in the whole batch\n"
            "            logits = model(hidden[rows, :width].to(device), mask[rows, :width].to(device))")
_UNTRIMMED = "            logits = model(hidden[rows].to(device), mask[rows].to(device))"
_RATER_LOOP_END = (_TRIMMED + "\n"
                   "            loss = F.cross_entropy(logits, targets[rows].to(device))\n"
                   "            optimizer.zero_grad()\n"
                   "            loss.backward()\n"
                   "            optimizer.step()\n"
                   "            total += loss.item() * len(rows)\n"
                   "        losses.append(total / len(hidden))\n"
                   "    model.train(False)  # evaluation mode")

ALTERNATIVES = [
    Alternative("tfidf_by_hand", "return torch.log(n_docs / df)",
                "return torch.log(torch.tensor(float(n_docs), dtype=torch.float64)) - torch.log(df)",
                "log N - log df"),
    Alternative("cosine_topk", "a_unit = a / a.norm(dim=1, keepdim=True).clamp(min=eps)",
                "a_unit = F.normalize(a, dim=1, eps=eps)", "F.normalize"),
    Alternative("recall_at_k", "len(set(row[:k]) & set(wanted)) / len(set(wanted))",
                "sum(1 for doc in set(wanted) if doc in row[:k]) / len(set(wanted))", "a loop over relevant documents"),
    Alternative("mean_pool", "return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)",
                'return torch.einsum("btd,bt->bd", hidden, weights[..., 0]) / weights[..., 0].sum(dim=1, keepdim=True)',
                "einsum"),
    Alternative("confusion", "for p, t in zip(predicted.tolist(), true.tolist()):\n        matrix[t, p] += 1",
                "matrix += torch.bincount(true * n_classes + predicted, minlength=n_classes * n_classes)"
                ".reshape(n_classes, n_classes)", "bincount"),
    # two independent rewrites of train_rater in one alternative: each needs a training run to judge
    Alternative("rater", _RATER_LOOP_END, _RATER_LOOP_END.replace(_TRIMMED, _UNTRIMMED).replace(
                    "    model.train(False)  # evaluation mode", "    model.eval()"),
                "no trimming of the padding columns (slower, same numbers), and model.eval()"),
    Alternative("sklearn_tfidf", 'token_pattern=r"\\S+", ', 'token_pattern=r"(?u)\\b\\w+\\b", ',
                "a token pattern that keeps one-letter words"),
]
