"""One lead of a LightGBM model scored in plain Python around LightGBM's two C calls: the web form's request.

ServedModel's general path runs the scorer on a one-row SmallFrame: dozens of NumPy calls on one-element arrays
(the matrix, calibration, clipping, grades, the score-point path, the usable masks, the sentence arrays), each
costing more set-up than its arithmetic. `OneLead` works out at load everything that does not depend on the
request (column order and category codes, the calibration's arrays, the grade thresholds, each feature's usable
rule), and one lead then runs as Python floats and strings: the row, one raw-score and one TreeSHAP C call, the
score, the grade, the score points, the top reasons and their sentences (`Phrasebook.sentence`).

Every number comes from the same operations in the same order as the general path, and NumPy is still called
where the general path's result depends on NumPy's own routine (exp, which is not libm's on AVX-512 machines;
interp; the pairwise sum of the contributions), on one-element arrays as there. So the answers are the general
path's to the bit (tests/serving/test_one_lead_path.py). A value this path does not cover (text in a numeric
feature, a non-finite raw score) gets `None` back, and the caller uses the general path for that lead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from leadops.features.online import Value
from leadops.scorers.calibration import Calibrator
from leadops.scorers.frame import small_frame
from leadops.scorers.lightgbm_scorer import LightGBMScorer
from leadops.scorers.phrases import Cell, Phrasebook, sayable
from leadops.scorers.reasons import EPS, POINTS_EPS, point_words

ReasonRow = tuple[str, float | None, float | None, str]
_NAN = math.nan


@dataclass(frozen=True)
class OneScore:
    """One lead's answer as ServedModel.score reads it from the general path's arrays."""

    score: float
    probability: float | None
    grade: str
    reasons: list[ReasonRow]


def _clip(x: float, low: float, high: float) -> float:
    """np.clip of one float: NaN stays NaN, and a value equal to a bound is kept (np.clip(-0.0, 0, 100) is -0.0)."""
    x = x if x != x or x >= low else low
    return x if x != x or x <= high else high


def _sigmoid(z: float) -> float:
    """The scorers' _sigmoid of one value, with NumPy's exp (not libm's: they differ in the last bit)."""
    return 1.0 / (1.0 + float(np.exp(np.array([-_clip(z, -500.0, 500.0)]))[0]))


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _rounded(value: float, places: int) -> float | None:
    return round(value, places) if math.isfinite(value) else None


class OneLead:
    """A LightGBM scorer's one-lead path: built once per loaded version, then `score(vector)` per request."""

    def __init__(self, scorer: LightGBMScorer, columns: Sequence[str], text_columns: frozenset[str], top_n: int):
        self.scorer = scorer
        self.columns = list(columns)
        self.text_columns = text_columns
        lookups = {f: {c: float(i) for i, c in enumerate(cats)} for f, cats in scorer.categories_.items()}
        self._plan = [(name, name in text_columns, lookups.get(name)) for name in self.columns]
        self.offset = float(scorer.offset_)
        self.calibrator: Calibrator | None = scorer.calibrator_
        cal = self.calibrator
        self._iso = None if cal is None or cal.method != "isotonic" else (np.asarray(cal.x), np.asarray(cal.p))
        grades = scorer.grades_
        worst_first = list(reversed(grades.thresholds))
        self._labels = [grades.otherwise, *(g for g, _ in worst_first)]
        self._cutoffs = [float(t) for _, t in worst_first]
        self._by_score = grades.basis == "score"
        self.book: Phrasebook = scorer.phrasebook()
        text_col, float_col = np.empty(0, dtype=object), np.empty(0, dtype=np.float64)
        self._rules = [self.book.usable_rule(f, text_col if f in text_columns else float_col) for f in self.columns]
        # the columns whose values are checked before they may be a reason: (position, name, rule is 'finite')
        rules = zip(self.columns, self._rules, strict=True)
        self._checked = [(j, f, r == "finite") for j, (f, r) in enumerate(rules) if r != "all"]
        self._sayable: dict[str, bool] = {}  # category values repeat: each is checked once
        self.top = max(0, min(int(top_n), len(self.columns)))
        self.eps = max(EPS, POINTS_EPS)  # the LightGBM reason matrix has points: their dead zone
        self.single = scorer.single_row()

    @classmethod
    def of(cls, scorer: object, columns: Sequence[str], categorical: frozenset[str], top_n: int) -> OneLead | None:
        """The path for a LightGBM scorer whose frame it can build exactly; None for any other (general path)."""
        if type(scorer) is not LightGBMScorer or not getattr(scorer, "is_fitted_", False):
            return None
        names = list(columns)
        texts = frozenset(n for n in names if n in categorical)
        if names != scorer.feature_names_in_ or names != list(scorer.columns_):
            return None  # the general path reorders (select) first: keep to the frames it is tried on
        if set(scorer.categories_) != texts or int(top_n) < 1:
            return None  # a categorical read as a number, or a number coded as a category: the general path's
        path = cls(scorer, names, texts, top_n)
        if any(rule == "finite" and f in texts for f, rule in zip(names, path._rules, strict=True)):
            return None  # a number parsed from text decides these: pandas' parser, on the general path
        return path

    # ---------------------------------------------------------------- the model's numbers

    def _probability(self, raw: float) -> float:
        """_raw_and_probability of one raw value: the calibration's map, else the model's own sigmoid."""
        cal = self.calibrator
        if cal is None:
            return _sigmoid(raw)
        if self._iso is not None:
            return float(np.interp(np.array([raw]), self._iso[0], self._iso[1])[0])
        return _sigmoid(cal.a * raw + cal.b)

    def _score_of(self, raw: float) -> float:
        """Scorer._score_of_raw of one value: the 0..100 score a raw value gets."""
        return _clip(100.0 * self._probability(raw), 0.0, 100.0)

    def _grade(self, value: float) -> str:
        """GradeScale.assign of one value: np.searchsorted(side='right') is this binary search; NaN the lowest."""
        if value != value:
            return self._labels[0]
        cutoffs = self._cutoffs
        lo, hi = 0, len(cutoffs)
        while lo < hi:
            mid = lo + ((hi - lo) >> 1)
            if cutoffs[mid] <= value:
                lo = mid + 1
            else:
                hi = mid
        return self._labels[lo]

    # ---------------------------------------------------------------- one lead

    def cells(self, vector: Mapping[str, Value]) -> tuple[dict[str, Cell], list[float]] | None:
        """(the SmallFrame's values by column, the matrix row) of one feature vector; None for a value that
        needs pandas' parser (text in a numeric feature), which the general path applies."""
        row: dict[str, Cell] = {}
        matrix: list[float] = []
        for name, text, lookup in self._plan:
            v = vector.get(name)
            if text:
                if v is not None and type(v) is not str:
                    return None
                row[name] = v
                matrix.append(_NAN if v is None or lookup is None else lookup.get(v, _NAN))
                continue
            if v is None:
                number = _NAN
            elif type(v) is float:
                number = v
            elif type(v) is int or type(v) is bool:
                number = float(v)
            else:
                return None
            row[name] = number
            matrix.append(number)
        return row, matrix

    def score(self, vector: Mapping[str, Value], lead_id: str) -> OneScore | None:
        """Score, probability, grade and reasons of one lead's feature vector, as the general path gives them."""
        built = self.cells(vector)
        if built is None:
            return None
        row, matrix = built
        raw_out, shap = self.single.raw_and_contributions(matrix)
        raw = raw_out + self.offset
        probability = self._probability(raw)
        score = _clip(100.0 * probability, 0.0, 100.0)
        grade = self._grade(score if self._by_score else raw)
        k = len(self.columns)
        base = float(shap[k]) + self.offset
        total = base + float(shap[None, :k].sum(axis=1)[0])  # NumPy's pairwise sum, as contrib.sum(axis=1)
        if not (math.isfinite(base) and math.isfinite(total)):
            return None
        contrib = shap[:k].tolist()
        points = self._points(base, total, contrib, row)
        return OneScore(score, _finite(probability), grade, self._reasons(contrib, points, row, lead_id))

    def _points(self, base: float, raw: float, contrib: list[float], row: Mapping[str, Cell]) -> list[float]:
        """Scorer._path_points of one lead, then 0 where the value may not be said (Scorer._usable)."""
        flat = abs(raw - base) < 1e-9
        h = 1e-4 * max(1.0, abs(base))
        top = base + h if flat else raw
        bottom = base - h if flat else base
        slope = (self._score_of(top) - self._score_of(bottom)) / (top - bottom)
        out = [c * slope for c in contrib]
        for j, name, finite in self._checked:
            value = row[name]
            if finite:  # of() keeps this rule to numeric columns: a float
                ok = type(value) is float and math.isfinite(value)
            else:  # as_text: missing (None, NaN) is no value; anything else is read as its str
                ok = value is not None and value == value and self._says(str(value))
            if not ok:
                out[j] = 0.0
        return out

    def _says(self, text: str) -> bool:
        """phrases.sayable, remembered per value (at most 4,096 of them)."""
        found = self._sayable.get(text)
        if found is None:
            if len(self._sayable) >= 4096:
                self._sayable.clear()
            found = self._sayable[text] = sayable(text)
        return found

    def _reasons(
        self, contrib: list[float], points: list[float], row: Mapping[str, Cell], lead_id: str
    ) -> list[ReasonRow]:
        """reasons._select_one and reason_rows of one lead: the same picks, order, words and rounding."""
        top, k, eps = self.top, len(points), self.eps
        up = [-math.inf if v != v else v for v in points]
        down = [-math.inf if v != v else -v for v in points]
        # heapq.nlargest(top, ...) is by definition sorted(..., reverse=True)[:top] (ties in column order)
        cols = sorted(range(k), key=up.__getitem__, reverse=True)[:top]
        cols += sorted(range(k), key=down.__getitem__, reverse=True)[:top]
        out: list[ReasonRow] = []
        for slot, j in enumerate(cols):
            v = points[j]
            if not (v > eps if slot < top else v < -eps):
                continue
            name = self.columns[j]
            body = self.book.sentence(name, row, self.text_columns)
            if body is None:  # a value only texts() words: ask it, on the one-lead frame the general path builds
                frame = small_frame([row], [lead_id], self.columns, self.text_columns)
                body = str(self.book.texts(name, frame, np.zeros(1, dtype=np.intp))[0])
            out.append((name, _rounded(contrib[j], 6), _rounded(v, 2), body + point_words(v)))
        return out
