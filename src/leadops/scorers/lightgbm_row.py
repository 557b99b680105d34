"""LightGBM's single-row fast predict (C API `LGBM_BoosterPredictForMatSingleRowFast`) for one booster.

`Booster.predict` re-checks and re-wraps its input and sets up a predictor on every call: for one lead that
Python set-up costs more than the trees. The fast API keeps one prepared predictor per output kind (raw score,
TreeSHAP contributions) and only walks the trees; it runs the same LightGBM code on the same row, so its
numbers are the same as `Booster.predict(row, raw_score=True / pred_contrib=True, num_threads=1)`.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

RAW_SCORE = 1  # C_API_PREDICT_RAW_SCORE
CONTRIB = 3  # C_API_PREDICT_CONTRIB
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


def _free(lib: Any, handles: list[ctypes.c_void_p]) -> None:
    """Release the prepared predictors (when their SingleRow is collected)."""
    for handle in handles:
        lib.LGBM_FastConfigFree(handle)
    handles.clear()


class SingleRow:
    """Prepared one-row predictors of a booster: raw score and contributions, one thread, all its trees."""

    def __init__(self, booster: Any, ncol: int) -> None:
        from lightgbm.basic import _LIB

        self.booster = booster  # the handles point into it: it must live as long as they do
        self.ncol = ncol
        self._lib = _LIB
        self._lock = threading.Lock()  # one call at a time per predictor (LightGBM's fast config is not shared-safe)
        self._configs: dict[int, ctypes.c_void_p] = {}
        self._handles: list[ctypes.c_void_p] = []
        best = int(getattr(booster, "best_iteration", 0) or 0)
        self._iterations = best if best > 0 else -1  # what Booster.predict passes when num_iteration is None
        weakref.finalize(self, _free, _LIB, self._handles)

    def _config(self, kind: int) -> ctypes.c_void_p:
        found = self._configs.get(kind)
        if found is not None:
            return found
        from lightgbm.basic import _safe_call

        handle = ctypes.c_void_p()
        _safe_call(
            self._lib.LGBM_BoosterPredictForMatSingleRowFastInit(
                self.booster._handle,
                ctypes.c_int(kind),
                ctypes.c_int(0),
                ctypes.c_int(self._iterations),
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(self.ncol),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(handle),
            )
        )
        self._handles.append(handle)
        self._configs[kind] = handle
        return handle

    def predict(self, row: np.ndarray, kind: int) -> np.ndarray:
        """The booster's output for one float64 row of `ncol` values: 1 raw score, or ncol + 1 contributions."""
        from lightgbm.basic import _safe_call

        data = np.ascontiguousarray(row, dtype=np.float64).reshape(-1)
        if data.shape[0] != self.ncol:
            raise ValueError(f"single-row predict: expected {self.ncol} feature values, got {data.shape[0]}")
        out = np.empty(1 if kind == RAW_SCORE else self.ncol + 1, dtype=np.float64)
        length = ctypes.c_int64(0)
        with self._lock:
            config = self._config(kind)
            _safe_call(
                self._lib.LGBM_BoosterPredictForMatSingleRowFast(
                    config,
                    data.ctypes.data_as(ctypes.c_void_p),
                    ctypes.byref(length),
                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                )
            )
        if length.value != len(out):
            raise ValueError(f"single-row predict: LightGBM wrote {length.value} values, expected {len(out)}")
        return out

    def raw_and_contributions(self, values: Sequence[float]) -> tuple[float, np.ndarray]:
        """(raw score, the ncol + 1 contributions) of one row given as Python floats: both C calls in one go.

        The same numbers as predict(row, RAW_SCORE) and predict(row, CONTRIB): the row is handed to LightGBM as
        a packed double buffer instead of a checked numpy array (one lead online pays for no array set-up).
        """
        from lightgbm.basic import _safe_call

        data = array("d", values)
        if len(data) != self.ncol:
            raise ValueError(f"single-row predict: expected {self.ncol} feature values, got {len(data)}")
        address = ctypes.c_void_p(data.buffer_info()[0])
        raw = ctypes.c_double(0.0)
        out = np.empty(self.ncol + 1, dtype=np.float64)
        raw_length, out_length = ctypes.c_int64(0), ctypes.c_int64(0)
        fast = self._lib.LGBM_BoosterPredictForMatSingleRowFast
        with self._lock:
            raw_config, contrib_config = self._config(RAW_SCORE), self._config(CONTRIB)
            _safe_call(fast(raw_config, address, ctypes.byref(raw_length), ctypes.byref(raw)))
            _safe_call(
                fast(
                    contrib_config,
                    address,
                    ctypes.byref(out_length),
                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                )
            )
        if raw_length.value != 1 or out_length.value != len(out):
            raise ValueError(
                f"single-row predict: LightGBM wrote {raw_length.value} and {out_length.value} values, "
                f"expected 1 and {len(out)}"
            )
        return raw.value, out
