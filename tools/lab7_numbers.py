"""Lab 7's headline numbers, with the notebook's own settings: recall@1/3/5 of keyword (TF-IDF) and
semantic (MiniLM) search per query kind, and 1-5 star accuracies of TF-IDF + LR, frozen embeddings + LR
and the fine-tuned top layer over five seeds. Usage: ``.venv/bin/python tools/lab7_numbers.py``
(about a minute on 2 CPU cores); prints JSON."""

import copy
import json
import time

import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from torch import nn

from labkit import docsearch, encoder, reviews

torch.set_num_threads(1)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N, T, F) states and (N, T) mask -> (N, F) mean over real tokens."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class Rater(nn.Module):
    """A copy of the encoder's last layer and a linear head (the lab's TopLayerRater)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer, self.head = copy.deepcopy(layer), nn.Linear(encoder.HIDDEN_SIZE, 5)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(mean_pool(encoder.run_layer(self.layer, hidden, mask), mask))


def main() -> dict:
    start = time.time()
    tokenizer, bert = encoder.load_encoder()
    names, docs = docsearch.stdlib_corpus()
    queries, kinds = [q.text for q in docsearch.QUERIES], [q.kind for q in docsearch.QUERIES]
    relevant = docsearch.relevance(names)

    def recall(ranked: torch.Tensor, k: int, rows: list[int]) -> float:
        return sum(len(set(ranked[i, :k].tolist()) & set(relevant[i])) / len(relevant[i]) for i in rows) / len(rows)

    vectorizer = TfidfVectorizer().fit(docs)
    d, q = (torch.tensor(vectorizer.transform(t).toarray()) for t in (docs, queries))
    keyword = (F.normalize(q, dim=1) @ F.normalize(d, dim=1).T).topk(5, dim=1).indices

    def embed(texts: list[str]) -> torch.Tensor:
        return F.normalize(encoder.sentence_embeddings(texts, tokenizer, bert, mean_pool), dim=1)

    semantic = (embed(queries) @ embed(docs).T).topk(5, dim=1).indices
    out: dict = {"recall@1,3,5": {}}
    for name, ranked in (("keyword", keyword), ("semantic", semantic)):
        for kind in docsearch.KINDS + ("all",):
            rows = [i for i, k in enumerate(kinds) if kind in (k, "all")]
            out["recall@1,3,5"][f"{name}/{kind}"] = [round(recall(ranked, k, rows), 3) for k in (1, 3, 5)]

    train, val, test = (reviews.lab_split(s) for s in ("train", "val", "test"))
    texts = train.texts + val.texts + test.texts
    states, mask = encoder.hidden_states(texts, tokenizer, bert, layers=(-2, -1))
    n1, n2 = len(train), len(train) + len(val)
    part = {"train": slice(0, n1), "val": slice(n1, n2), "test": slice(n2, len(texts))}

    def accuracy(predicted, labels: torch.Tensor) -> float:
        return round(float((torch.as_tensor(predicted) == labels).float().mean()), 3)

    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    lr = LogisticRegression(C=10.0, max_iter=1000).fit(tfidf.fit_transform(train.texts), train.stars.numpy())
    out["tfidf_lr_test"] = accuracy(lr.predict(tfidf.transform(test.texts)) - 1, test.labels)
    frozen = {s: F.normalize(mean_pool(states[-1][x], mask[x]), dim=1) for s, x in part.items()}
    lr = LogisticRegression(C=10.0, max_iter=1000).fit(frozen["train"].numpy(), train.stars.numpy())
    out["frozen_lr_test"] = accuracy(lr.predict(frozen["test"].numpy()) - 1, test.labels)
    out["finetune_test_by_seed"] = {}
    for seed in range(5):
        torch.manual_seed(seed)
        model = Rater(bert.encoder.layer[-1])
        optimizer = torch.optim.AdamW([{"params": model.layer.parameters(), "lr": 5e-4},
                                       {"params": model.head.parameters(), "lr": 5e-3}])
        generator = torch.Generator().manual_seed(seed)
        x, m, y = states[-2][part["train"]], mask[part["train"]], train.stars - 1
        for _ in range(4):
            model.train()
            for rows in torch.randperm(len(x), generator=generator).split(16):
                width = int(m[rows].sum(1).max())
                loss = F.cross_entropy(model(x[rows, :width], m[rows, :width]), y[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(states[-2][part["test"]], mask[part["test"]])
        out["finetune_test_by_seed"][seed] = accuracy(logits.argmax(1), test.labels)
    out["seconds"] = round(time.time() - start, 1)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
