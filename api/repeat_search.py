"""The repeat search of a transaction, over the stored posts' vectors kept between transactions.

A new complaint repeats a recent open post of the same topic and kecamatan when the cosine of
their vectors (`model/repeats.py`) reaches `repeat_threshold`. The database says which posts
are candidates (`storage.repeat_candidates`: open originals of the window, newest first); their
unit vectors come from `VECTORS`, a cache by model version and post id that the writer fills as
it stores each post, else from the database, where each original complaint's vector is written
with it (`storage.repeat_vectors`: a post another worker stored, one from before a restart, or
one the cache let go under a flood of posts); a candidate is read through the model only when
neither holds it (stored before the vectors were kept, or by another model version).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import scipy.sparse as sp

from api import storage
from api.settings import Settings
from model.repeats import RepeatMatch, best_of, unit_rows
from model.triage import Classification, Triage

# A cached vector keeps its values in DTYPE: float32 holds each value to a relative 6e-8, so a
# cosine with a unit vector moves by 6e-8 at most, and a non-zero takes 8 bytes with its int32
# column number instead of 12. The post compared with the candidates stays in float64, and each
# cosine is summed in float64.
DTYPE = np.float32
# What one entry costs beyond its arrays: the key, the tuple, two array headers, the dict slot.
ENTRY_OVERHEAD = 400

_Vector = tuple[np.ndarray, np.ndarray]  # (columns, values) of a unit row


class VectorCache:
    """Unit vectors of stored posts by (model version, post id), the least recently used
    dropped first once there are more than `max_rows` or they take more than `max_bytes`.
    Safe to share between threads."""

    def __init__(self, max_rows: int, max_bytes: int) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._rows: OrderedDict[tuple[str, str], _Vector] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def nbytes(self) -> int:
        return self._bytes

    @staticmethod
    def _size(vector: _Vector) -> int:
        return int(vector[0].nbytes + vector[1].nbytes) + ENTRY_OVERHEAD

    def get_many(self, version: str, post_ids: Sequence[str]) -> list[_Vector | None]:
        with self._lock:
            found = []
            for post_id in post_ids:
                vector = self._rows.get((version, post_id))
                if vector is not None:
                    self._rows.move_to_end((version, post_id))
                found.append(vector)
            return found

    def put(self, version: str, post_id: str, columns: np.ndarray, values: np.ndarray) -> _Vector:
        """Keep a post's vector; returns it as kept (int32 columns, DTYPE values)."""
        # copies: a slice of a transaction's matrix would keep the whole matrix alive
        vector = (np.array(columns, dtype=np.int32), np.array(values, dtype=DTYPE))
        with self._lock:
            old = self._rows.pop((version, post_id), None)
            if old is not None:
                self._bytes -= self._size(old)
            self._rows[(version, post_id)] = vector
            self._bytes += self._size(vector)
            # the newest entry always stays
            while len(self._rows) > 1 and (
                len(self._rows) > self.max_rows or self._bytes > self.max_bytes
            ):
                _, dropped = self._rows.popitem(last=False)
                self._bytes -= self._size(dropped)
        return vector

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._bytes = 0


# A vector holds a few hundred non-zeros (~3 kB with its entry): about 1,000 posts, the open
# complaints of several days in a city of Bengkulu's size, within the server's memory budget
# (250 MB, bench/README.md). A candidate dropped from here is read through the model again when
# it is next needed (`RepeatSearch._load`): a smaller cache costs time, never a repeat.
VECTORS = VectorCache(max_rows=50_000, max_bytes=3 * 2**20)


def encode_vector(vector: _Vector) -> bytes:
    """A kept vector as bytes for the database: its values' item size (one byte), the int32
    columns, then the values."""
    columns, values = vector
    return bytes([values.itemsize]) + columns.astype(np.int32).tobytes() + values.tobytes()


def decode_vector(blob: bytes) -> _Vector:
    """`encode_vector`'s vector again (arrays over `blob`, read-only)."""
    itemsize = blob[0]
    n = (len(blob) - 1) // (4 + itemsize)
    columns = np.frombuffer(blob, dtype=np.int32, count=n, offset=1)
    values = np.frombuffer(blob, dtype=np.dtype(f"f{itemsize}"), count=n, offset=1 + 4 * n)
    return columns, values


def _stack(vectors: Sequence[_Vector], n_features: int) -> sp.csr_matrix:
    """Rows as one float64 CSR matrix (the cosines are summed in float64)."""
    lengths = [len(columns) for columns, _ in vectors]
    indptr = np.zeros(len(vectors) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if indptr[-1]:
        indices = np.concatenate([columns for columns, _ in vectors])
        data = np.concatenate([values for _, values in vectors], dtype=np.float64)
    else:
        indices, data = np.zeros(0, dtype=np.int32), np.zeros(0)
    return sp.csr_matrix((data, indices, indptr), shape=(len(vectors), n_features))


class RepeatSearch:
    """The repeat search of one transaction: the candidates of every (topic, kecamatan) its
    complaints name are read from the database in one query, over the widest window the
    transaction's posts need, and each pair's vectors are stacked once; each post then keeps
    the candidates inside its own window. Vectors are unit length (`unit_rows`), so a post's
    similarities are one sparse product."""

    def __init__(
        self,
        session: Any,
        triage: Triage,
        settings: Settings,
        results: Sequence[Classification],
        received_at: Sequence[datetime],
    ) -> None:
        self.session = session
        self.triage = triage
        self.cache = VECTORS
        self.threshold = settings.repeat_threshold
        self.window = timedelta(days=settings.repeat_window_days)
        self.on = settings.repeat_window_days > 0 and bool(received_at)
        self.since = min(received_at) - self.window if self.on else None
        self._pairs: dict[
            tuple[str, str], tuple[list[str], list[datetime], sp.csr_matrix | None]
        ] = {}
        self._buffer: np.ndarray | None = None
        # This transaction's complaints that name a kecamatan, and how many of them each
        # (topic, kecamatan) has still to come (a later post of the pair may repeat an earlier).
        self._eligible_results = [r for r in results if self._eligible(r)] if self.on else []
        self._to_come = Counter(self._key(r) for r in self._eligible_results)
        # their vectors, computed in one batch on first need (rows of one matrix; a row is read
        # from its arrays, slicing a scipy matrix costs more)
        self._own: sp.csr_matrix | None = None
        self._row_of: dict[int, int] = {}
        # (post id, encoded vector, when) of the originals stored in this transaction, for
        # `storage.add_repeat_vectors`
        self.new_vectors: list[tuple[str, bytes, datetime]] = []

    @staticmethod
    def _eligible(result: Classification) -> bool:
        return result.is_complaint and bool(result.area.kecamatan)

    @staticmethod
    def _key(result: Classification) -> tuple[str, str]:
        return (result.topic.label, str(result.area.kecamatan))

    def _vectors(self) -> sp.csr_matrix:
        if self._own is None:
            eligible = self._eligible_results
            self._own = unit_rows(self.triage.similarity_features([r.normalised for r in eligible]))
            self._row_of = {id(r): k for k, r in enumerate(eligible)}
        return self._own

    def _own_row(self, result: Classification) -> _Vector:
        own = self._vectors()
        row = self._row_of[id(result)]
        start, end = own.indptr[row], own.indptr[row + 1]
        return own.indices[start:end], own.data[start:end]

    def find(self, result: Classification, now: datetime) -> RepeatMatch | None:
        """An open post of the last `repeat_window_days` that this complaint repeats, if any."""
        if not self.on or not self._eligible(result):
            return None
        key = self._key(result)
        self._to_come[key] -= 1
        if not self._pairs:
            self._load()
        candidates, times, matrix = self._pairs[key]
        since = now - self.window
        keep = [k for k, t in enumerate(times) if t >= since]
        if not keep or matrix is None:
            return None
        if len(keep) < len(candidates):
            candidates, matrix = [candidates[k] for k in keep], matrix[keep]
        return best_of(self._similarities(result, matrix), candidates, self.threshold)

    def _similarities(self, result: Classification, matrix: sp.csr_matrix) -> np.ndarray:
        """Cosines of `result`'s unit row with every unit row of `matrix`: a sparse matrix
        times a dense vector, on a buffer zeroed again after each use."""
        indices, values = self._own_row(result)
        if self._buffer is None or len(self._buffer) != matrix.shape[1]:
            self._buffer = np.zeros(matrix.shape[1])
        buffer = self._buffer
        buffer[indices] = values
        try:
            return np.asarray(matrix @ buffer)
        finally:
            buffer[indices] = 0.0

    def add(self, post_id: str, result: Classification, now: datetime) -> None:
        """An original post stored in this transaction: its vector is kept for the transactions
        to come, and later posts of this one may repeat it (many residents posting the same
        thing at once arrive together)."""
        if not self.on or not self._eligible(result):
            return
        indices, values = self._own_row(result)
        kept = self.cache.put(self.triage.model_version, post_id, indices, values)
        self.new_vectors.append((post_id, encode_vector(kept), now))
        key = self._key(result)
        if not self._to_come[key]:
            return  # no later post of this transaction can repeat it
        candidates, times, matrix = self._pairs[key]  # `find` loaded it
        vector = self._vectors()[self._row_of[id(result)]]
        self._pairs[key] = (
            [post_id, *candidates],  # newest first, as the query gives
            [now, *times],
            vector if matrix is None else sp.vstack([vector, matrix], format="csr"),
        )

    def _load(self) -> None:
        """Every pair's candidates, in one query; their vectors from the cache, those it lacks
        from the database, and the rest through the model in one batch."""
        assert self.since is not None
        found = storage.repeat_candidates(self.session, list(self._to_come), self.since)
        version = self.triage.model_version
        ids = [post_id for rows in found.values() for post_id, _ in rows]
        vectors: dict[str, _Vector] = {}
        missing = []
        for post_id, vector in zip(ids, self.cache.get_many(version, ids), strict=True):
            if vector is None:
                missing.append(post_id)
            else:
                vectors[post_id] = vector
        if missing:
            kept = storage.repeat_vectors(self.session, version, missing)
            for post_id, blob in kept.items():
                vectors[post_id] = self.cache.put(version, post_id, *decode_vector(blob))
            missing = [post_id for post_id in missing if post_id not in kept]
        if missing:
            texts = storage.post_texts(self.session, missing)
            content = self.triage.content_texts([texts[i] for i in missing])
            unit = unit_rows(self.triage.similarity_features(content))
            for k, post_id in enumerate(missing):
                start, end = unit.indptr[k], unit.indptr[k + 1]
                vectors[post_id] = self.cache.put(
                    version, post_id, unit.indices[start:end], unit.data[start:end]
                )
        for key, rows in found.items():
            self._pairs[key] = (
                [post_id for post_id, _ in rows],
                [when for _, when in rows],
                _stack([vectors[post_id] for post_id, _ in rows], self.triage.fast.n_features)
                if rows
                else None,
            )
