"""Reason sentences a salesperson reads, worded from what each feature measures (its meaning), column-wise.

"Requested a demo 3 days ago", "Viewed the pricing page 5 times in the last 30 days", "Works at a company of
1,500 employees", "Opted out of email": built from the feature spec (activity type, aggregate and window;
canonical attribute column; builtin) or from a `phrase` template the user gives. A value a rep cannot act on
(missing, `unknown`, the `other` bucket, a hash or id) is never a reason: `usable()` masks it out.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from leadops.scorers.conditions import as_float, as_text
from leadops.scorers.frame import Column, Frame, SmallFrame, take
from leadops.scorers.reasons import (
    SMALL,
    concat,
    format_value,
    format_values,
    parsed_template,
    template_texts,
)
from leadops.settings.models import FeatureMeaning

if TYPE_CHECKING:
    from leadops.settings.features import FeaturesSpec

OTHER = "other"
_ID_LIKE = re.compile(
    r"^(?:[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=.*\d)(?=.*[a-z])[a-z0-9_-]{16,})$",
    re.IGNORECASE,
)
_UNKNOWN = {"unknown", "none", "null", "nan", "n/a", "na", ""}
Cell: TypeAlias = "float | str | None"
"""One value of a one-lead feature row as a SmallFrame holds it: float (NaN missing) or str / None in text columns."""
_FLOAT_COLUMN = np.empty(0, dtype=np.float64)  # what a numeric column's meaning is looked up by (its dtype)
_TEXT_COLUMN = np.empty(0, dtype=object)
_EXACT_DAYS = 2.0**62  # below this a day count rounds to int64 exactly, as ago() converts it


@dataclass(frozen=True)
class Words:
    """How one activity type reads: n times, once, some (exists), none, the last one `{ago}`, never."""

    count: str
    once: str
    some: str
    none: str
    last: str
    never: str


ACTIVITY_WORDS: dict[str, Words] = {
    "email_open": Words(
        "Opened {n} emails", "Opened 1 email", "Opened an email", "Opened no email",
        "Last opened an email {ago}", "Never opened an email",
    ),
    "email_click": Words(
        "Clicked {n} email links", "Clicked 1 email link", "Clicked an email link", "Clicked no email link",
        "Last clicked an email link {ago}", "Never clicked an email link",
    ),
    "page_view": Words(
        "Viewed {n} web pages", "Viewed 1 web page", "Visited the website", "Did not visit the website",
        "Last visited the website {ago}", "Never visited the website",
    ),
    "pricing_view": Words(
        "Viewed the pricing page {n} times", "Viewed the pricing page once", "Viewed the pricing page",
        "Did not view the pricing page", "Viewed the pricing page {ago}", "Never viewed the pricing page",
    ),
    "careers_view": Words(
        "Viewed the careers page {n} times", "Viewed the careers page once", "Viewed the careers page",
        "Did not view the careers page", "Viewed the careers page {ago}", "Never viewed the careers page",
    ),
    "content_download": Words(
        "Downloaded {n} pieces of content", "Downloaded 1 piece of content", "Downloaded content",
        "Downloaded no content", "Last downloaded content {ago}", "Never downloaded content",
    ),
    "webinar_registration": Words(
        "Registered for {n} webinars", "Registered for a webinar", "Registered for a webinar",
        "Registered for no webinar", "Registered for a webinar {ago}", "Never registered for a webinar",
    ),
    "webinar_attendance": Words(
        "Attended {n} webinars", "Attended a webinar", "Attended a webinar", "Attended no webinar",
        "Attended a webinar {ago}", "Never attended a webinar",
    ),
    "demo_request": Words(
        "Requested a demo {n} times", "Requested a demo", "Requested a demo", "Did not request a demo",
        "Requested a demo {ago}", "Never requested a demo",
    ),
    "trial_start": Words(
        "Started {n} trials", "Started a trial", "Started a trial", "Did not start a trial",
        "Started a trial {ago}", "Never started a trial",
    ),
    "support_call": Words(
        "Called support {n} times", "Called support once", "Called support", "Did not call support",
        "Last called support {ago}", "Never called support",
    ),
    "event_attendance": Words(
        "Attended {n} events", "Attended an event", "Attended an event", "Attended no event",
        "Attended an event {ago}", "Never attended an event",
    ),
    "social_engagement": Words(
        "Engaged with us on social media {n} times", "Engaged with us on social media once",
        "Engaged with us on social media", "No social media engagement",
        "Last engaged on social media {ago}", "Never engaged on social media",
    ),
    "form_submit": Words(
        "Submitted {n} forms", "Submitted a form", "Submitted a form", "Submitted no form",
        "Submitted a form {ago}", "Never submitted a form",
    ),
    "unsubscribe": Words(
        "Unsubscribed {n} times", "Unsubscribed from email", "Unsubscribed from email", "Did not unsubscribe",
        "Unsubscribed from email {ago}", "Never unsubscribed",
    ),
    "sales_touch": Words(
        "Contacted by Sales {n} times", "Contacted by Sales once", "Contacted by Sales", "Not contacted by Sales",
        "Last contacted by Sales {ago}", "Never contacted by Sales",
    ),
}  # fmt: skip

# canonical boolean columns: (when true, when false)
BOOLEAN_WORDS: dict[str, tuple[str, str]] = {
    "do_not_email": ("Opted out of email", "Accepts email"),
    "do_not_call": ("Asked not to be called", "Accepts calls"),
    "is_competitor": ("Works for a competitor", "Does not work for a competitor"),
    "profitable_last_quarter": ("Company was profitable last quarter", "Company was not profitable last quarter"),
}
# canonical categorical columns: template around the value
CATEGORY_WORDS: dict[str, str] = {
    "industry": "Works in {value}",
    "department": "Works in {value}",
    "job_level": "Job level: {value}",
    "lead_source": "Came in through {value}",
    "region": "Based in {value}",
    "country": "Based in {value}",
    "email_domain_type": "Uses {value} email address",
}
JOB_LEVELS = {
    "c_level": "C-level",
    "vp": "VP",
    "vp_director": "VP or director",
    "individual_contributor": "individual contributor",
}


@dataclass(frozen=True)
class Levels:
    """What a numeric feature looked like in training: its median, 90th percentile, and whether it is 0/1."""

    p50: float
    p90: float
    binary: bool

    def to_dict(self) -> dict[str, Any]:
        return {"p50": self.p50, "p90": self.p90, "binary": self.binary}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Levels:
        return cls(float(data["p50"]), float(data["p90"]), bool(data["binary"]))


LEVEL_ROWS = 20_000  # rows the levels are read from: quantiles to a fraction of a percent, at no cost to fit


def fit_levels(X: pd.DataFrame) -> dict[str, Levels]:
    """Levels of every numeric (and boolean) column of the training features (evenly spaced rows, at most 20k)."""
    out: dict[str, Levels] = {}
    if len(X) > LEVEL_ROWS:
        X = X.iloc[np.linspace(0, len(X) - 1, LEVEL_ROWS).astype(np.int64)]
    for c in X.columns:
        s = X[c]
        if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            continue
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        v = v[np.isfinite(v)]
        if len(v) == 0:
            continue
        p50, p90 = (float(q) for q in np.quantile(v, [0.5, 0.9]))
        out[str(c)] = Levels(p50, p90, bool(np.isin(v, [0.0, 1.0]).all()))
    return out


def meanings_of(spec: FeaturesSpec) -> dict[str, dict[str, Any]]:
    """Each feature's meaning (plain data for a scorer spec's `feature_meanings`), from the fitted feature spec."""
    from leadops.settings.features import ActivityFeature, AttributeFeature, BuiltinFeature

    out: dict[str, dict[str, Any]] = {}
    for f in spec.definitions:
        m: dict[str, Any] = {"phrase": f.phrase, "phrase_none": f.phrase_none}
        if isinstance(f, ActivityFeature):
            m.update(kind="activity", agg=f.agg, types=list(f.types), window_days=f.window_days)
            m.update(half_life_days=f.half_life_days)
        elif isinstance(f, AttributeFeature):
            m.update(kind="attribute", value_type=f.type, column=f.column)
        elif isinstance(f, BuiltinFeature):
            m.update(kind="builtin", builtin=f.builtin)
        else:
            m.update(kind="derived")
        out[f.name] = {k: v for k, v in m.items() if v is not None}
    return out


def capitalized(text: str) -> str:
    """The first letter upper-case, the rest untouched ('opted out of email' -> 'Opted out of email')."""
    return text[:1].upper() + text[1:]


def _window(days: float | None) -> str:
    if days is None:
        return ""
    if days == 1:
        return " in the last day"
    if days == 7:
        return " in the last week"
    return f" in the last {days:g} days"


def _span(days: float) -> str:
    if days == 7:
        return "week"
    if days % 7 == 0 and days <= 56:
        return f"{int(days // 7)} weeks"
    return f"{days:g} days"


def ago(days: np.ndarray) -> np.ndarray:
    """Days as 'today', 'yesterday', '12 days ago'."""
    d = np.asarray(days, dtype=float)
    whole = np.round(d).astype(np.int64)
    if len(whole) <= SMALL:
        out = np.empty(len(whole), dtype=object)
        out[:] = [f"{k} days ago" for k in whole.tolist()]
    else:
        uniq, inverse = np.unique(whole, return_inverse=True)
        out = np.asarray([f"{k} days ago" for k in uniq.tolist()], dtype=object)[inverse.ravel()]
    out[d < 1.5] = "yesterday"
    out[d < 0.5] = "today"
    return out


def _count_text(n: np.ndarray) -> np.ndarray:
    """Counts as a rep writes them: 3, 1,500, 2.5 (each distinct value formatted once)."""
    v = np.asarray(n, dtype=float)
    if len(v) <= SMALL:
        return _strings_of([_count(x) for x in v.tolist()])
    uniq, inverse = np.unique(v, return_inverse=True)
    texts = [_count(x) for x in uniq.tolist()]
    return np.asarray(texts, dtype=object)[inverse.ravel()] if len(v) else np.empty(0, dtype=object)


def _count(x: float) -> str:
    return f"{round(x):,}" if math.isfinite(x) and abs(x - round(x)) < 1e-9 else f"{x:,.3g}"


def _money(v: np.ndarray) -> np.ndarray:
    out = np.empty(len(v), dtype=object)
    for i, x in enumerate(v.tolist()):
        out[i] = _money_one(x)
    return out


def _money_one(x: float) -> str:
    """An amount as a rep reads it: 2.5M, 750K, 9,500."""
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.3g}B"
    if a >= 1e6:
        return f"{x / 1e6:.3g}M"
    if a >= 1e4:
        return f"{x / 1e3:.3g}K"
    return f"{x:,.0f}"


def _word(text: str, column: str | None) -> str:
    if column == "job_level" and text in JOB_LEVELS:
        return JOB_LEVELS[text]
    return text.replace("_", " ") if " " not in text else text


def _humanize(values: np.ndarray, column: str | None) -> np.ndarray:
    """Category values as words: 'financial_services' -> 'financial services', job levels spelled out."""
    if len(values) <= SMALL:
        return _strings_of(["" if _absent(v) else _word(str(v), column) for v in values.tolist()])
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    words = [_word(str(u), column) for u in uniques]
    return np.asarray([*words, ""], dtype=object)[codes]


def _absent(value: Any) -> bool:
    """Missing as pandas.factorize counts it (None, NaN, pd.NA)."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _strings_of(items: list[str]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _nan0(v: np.ndarray) -> np.ndarray:
    """np.nan_to_num(v) (NaN -> 0, +-inf -> the largest finite floats), skipping its set-up when all are finite."""
    if v.dtype == np.float64 and np.isfinite(v).all():
        return v
    return np.nan_to_num(v)


def _numbers(s: Column) -> np.ndarray:
    if isinstance(s, np.ndarray):
        return as_float(s).copy()
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _texts(s: Column) -> np.ndarray:
    return as_text(s)


def _looks_like_id(text: str) -> bool:
    return bool(_ID_LIKE.match(text))


def sayable(text: str) -> bool:
    """A category value a rep can act on: not unknown, not the `other` bucket, not a hash or id."""
    return text.strip().lower() not in _UNKNOWN | {OTHER} and not _looks_like_id(text.strip())


class Phrasebook:
    """Words for every feature of one scorer: meanings (from the feature spec), labels, training levels."""

    def __init__(
        self,
        meanings: Mapping[str, FeatureMeaning],
        labels: Mapping[str, str],
        levels: Mapping[str, Levels],
    ) -> None:
        self.meanings = meanings
        self.labels = labels
        self.levels = levels
        self._inferred: dict[tuple[str, Any], FeatureMeaning] = {}  # by (feature, dtype): asked once per column kind
        self._rules: dict[tuple[str, Any], str] = {}
        self._row_rules: dict[tuple[tuple[str, ...], Any], list[tuple[int, str, str]]] = {}
        self._one_meanings: dict[tuple[str, bool], FeatureMeaning] = {}  # sentence(): by (feature, text column)

    def label(self, feature: str) -> str:
        """The feature's label, or its name with spaces."""
        return self.labels.get(feature, feature.replace("_", " "))

    def meaning(self, feature: str, s: Column) -> FeatureMeaning:
        """The declared meaning, else one inferred from the column's dtype and training levels."""
        m = self.meanings.get(feature)
        if m is not None:
            return m
        key = (feature, s.dtype)
        found = self._inferred.get(key)
        if found is None:
            found = self._inferred[key] = self._infer(feature, s)
        return found

    def _infer(self, feature: str, s: Column) -> FeatureMeaning:
        if pd.api.types.is_bool_dtype(s.dtype):
            return FeatureMeaning(value_type="boolean")
        if not pd.api.types.is_numeric_dtype(s.dtype):
            return FeatureMeaning(value_type="categorical")
        lv = self.levels.get(feature)
        return FeatureMeaning(value_type="boolean" if lv is not None and lv.binary else "numeric")

    def _is_flag(self, feature: str, m: FeatureMeaning) -> bool:
        if m.kind == "attribute":
            return m.value_type == "boolean"
        if m.kind == "derived":
            lv = self.levels.get(feature)
            return lv is not None and lv.binary
        return False

    # ---------------------------------------------------------------- which values may be a reason

    def usable_rule(self, feature: str, s: Column) -> str:
        """How usable() decides for the feature: 'all' (every value is a fact), 'finite' (a number), 'text'."""
        key = (feature, s.dtype)
        rule = self._rules.get(key)
        if rule is None:
            rule = self._rules[key] = self._rule(feature, s)
        return rule

    def one_row_rules(self, features: Sequence[str], X: SmallFrame) -> list[tuple[int, str, str]]:
        """(position, feature, rule) of the features whose usable() is not 'all', for frames laid out like X.

        Worked out once per (features, X's layout): a one-lead frame's column dtypes follow from its layout.
        """
        key = (tuple(features), X.layout)
        found = self._row_rules.get(key) if X.layout is not None else None
        if found is None:
            found = [(j, f, r) for j, f in enumerate(features) if (r := self.usable_rule(f, X[f])) != "all"]
            if X.layout is not None:
                if len(self._row_rules) >= 16:
                    self._row_rules.clear()
                self._row_rules[key] = found
        return found

    def _rule(self, feature: str, s: Column) -> str:
        m = self.meaning(feature, s)
        if m.kind == "activity":
            return "all" if m.agg == "recency" else "finite"  # recency: missing = never, a fact
        if m.kind in ("builtin", "derived") or m.value_type in ("numeric", "boolean"):
            return "finite"
        return "text"

    def usable(self, feature: str, s: Column) -> np.ndarray:
        """Rows whose value can be said to a rep (not missing / unknown / `other` / a hash or id)."""
        rule = self.usable_rule(feature, s)
        if rule == "all":
            return np.ones(len(s), dtype=bool)
        if rule == "finite":
            return np.isfinite(as_float(s))
        text = _texts(s)
        if len(text) <= SMALL:
            return np.array([v is not None and sayable(v) for v in text.tolist()], dtype=bool)
        codes, uniques = pd.factorize(pd.Series(text, dtype=object))
        ok = np.array([sayable(str(u)) for u in uniques] + [False], dtype=bool)
        return ok[codes]

    # ---------------------------------------------------------------- sentences

    def texts(self, feature: str, X: Frame, rows: np.ndarray) -> np.ndarray:
        """The sentence for `feature` at positions `rows` of X (no points: the caller appends them)."""
        s = take(X[feature], rows)
        m = self.meaning(feature, X[feature])
        n = len(rows)
        if m.phrase is not None or m.phrase_none is not None:
            return self._templated(feature, m, X, rows)
        if m.kind == "activity":
            return self._activity(feature, m, s)
        if m.kind == "builtin":
            return concat("Became a lead ", ago(_nan0(_numbers(s))))
        label = capitalized(self.label(feature))
        if self._is_flag(feature, m):
            yes, no = BOOLEAN_WORDS.get(m.column or "", (label, f"{label}: no"))
            flag = _nan0(_numbers(s)) != 0
            return np.where(flag, yes, no).astype(object)
        if m.value_type == "categorical":
            words = _humanize(_texts(s), m.column)
            if m.column == "email_domain_type":
                words = np.array([("an " if w[:1] in "aeiou" else "a ") + w for w in words.tolist()], dtype=object)
            template = CATEGORY_WORDS.get(m.column or "", "{label}: {value}")
            return template_texts(template, {"value": words, "label": label}, n)
        v = _numbers(s)
        if m.column == "employees":
            return np.where(
                v == 1, "Works at a one-person company", concat("Works at a company of ", _count_text(v), " employees")
            ).astype(object)
        if m.column == "annual_revenue":
            return concat("Company revenue of ", _money(v), " a year")
        return concat(f"{label}: ", _count_text(v))

    def _templated(self, feature: str, m: FeatureMeaning, X: Frame, rows: np.ndarray) -> np.ndarray:
        s = take(X[feature], rows)
        n = len(rows)
        fields: dict[str, Any] = {"label": self.label(feature)}
        v = _numbers(s) if m.value_type != "categorical" else np.full(n, np.nan)
        if m.value_type == "categorical":
            fields["value"] = _humanize(_texts(s), m.column)
        else:
            fields["value"] = _count_text(_nan0(v))
        for name in set(_fields(m.phrase) + _fields(m.phrase_none)) - {"label", "value"}:
            fields[name] = format_values(take(X[name], rows)) if name in X else "?"
        some = template_texts(m.phrase or "{label}: {value}", fields, n)
        if m.phrase_none is None:
            return some
        none = template_texts(m.phrase_none, fields, n)
        empty = (v == 0) | ~np.isfinite(v) if m.value_type != "categorical" else np.zeros(n, dtype=bool)
        return np.where(empty, none, some).astype(object)

    def _activity(self, feature: str, m: FeatureMeaning, s: Column) -> np.ndarray:
        v = _numbers(s)
        words = ACTIVITY_WORDS.get(m.types[0]) if len(m.types) == 1 else None
        label = self.label(feature)
        window = _window(m.window_days)
        if m.agg == "recency":
            never = np.isnan(v)
            if words is not None:
                last = np.array([words.last.replace("{ago}", a) for a in ago(_nan0(v)).tolist()], dtype=object)
                nothing = words.none + window if m.window_days is not None else words.never
            else:
                last = concat("Last active ", ago(_nan0(v)))
                nothing = "No activity" + (window if m.window_days is not None else " on record")
            return np.where(never, nothing, last).astype(object)
        if m.agg == "decayed_sum":
            return self._decayed(feature, m, v)
        if m.agg == "exists":
            some_ = words.some if words is not None else capitalized(label)
            none_ = words.none if words is not None else f"No {label}"
            return np.where(_nan0(v) > 0, some_ + window, none_ + window).astype(object)
        if m.agg == "count":
            if words is not None:
                counts = _count_text(v)
                out = np.array([words.count.replace("{n}", c) + window for c in counts.tolist()], dtype=object)
                out[v == 1] = words.once + window
                out[v == 0] = words.none + window
                return out
            counts = _count_text(v)
            out = concat(counts, " ", label)
            out[v == 0] = capitalized(f"no {label}")
            return out
        return concat(f"{capitalized(label)}: ", _count_text(v))  # sum of activity values

    def _decayed(self, feature: str, m: FeatureMeaning, v: np.ndarray) -> np.ndarray:
        """Activity weighted toward the recent past, said as a level against the training leads."""
        lv = self.levels.get(feature)
        p50, p90 = (lv.p50, lv.p90) if lv is not None else (0.0, np.inf)
        span = f" in the last {_span(m.half_life_days or 14.0)}"
        level = np.where(v >= p90, "Very active", np.where(v > p50, "Active", "Little activity")).astype(object)
        level[_nan0(v) <= 0] = "No activity"
        return concat(level, span)

    # ---------------------------------------------------------------- one lead's sentences, without numpy

    def sentence(self, feature: str, row: Mapping[str, Cell], text_columns: Container[str]) -> str | None:
        """texts() of a one-lead frame for `feature`, from the lead's row of plain values; None where only texts()
        decides (text in a numeric column, a number beyond exact rounding): the caller then asks texts().

        `row` holds every column of the frame as a SmallFrame holds one lead: a float (NaN for missing) in a
        numeric column, str or None in the `text_columns`. The words are texts()'s, value by value.
        """
        text = feature in text_columns
        m = self._one_meanings.get((feature, text))
        if m is None:
            m = self._one_meanings[(feature, text)] = self.meaning(feature, _TEXT_COLUMN if text else _FLOAT_COLUMN)
        value = row[feature]
        if m.phrase is not None or m.phrase_none is not None:
            return self._templated_one(feature, m, row, text_columns)
        # texts() reads every branch but the categorical one as numbers: text there is pandas' to parse
        number = value if not text and type(value) is float else None
        if m.kind == "activity":
            return None if number is None else self._activity_one(feature, m, number)
        if m.kind == "builtin":
            since = None if number is None else _ago_one(_nan0_one(number))
            return None if since is None else "Became a lead " + since
        label = capitalized(self.label(feature))
        if self._is_flag(feature, m):
            if number is None:
                return None
            yes, no = BOOLEAN_WORDS.get(m.column or "", (label, f"{label}: no"))
            return yes if _nan0_one(number) != 0 else no
        if m.value_type == "categorical":
            if not text or (value is not None and type(value) is not str):
                return None
            return self._category_one(m, label, value)
        if number is None:
            return None
        if m.column == "employees":
            if number == 1:
                return "Works at a one-person company"
            return f"Works at a company of {_count(number)} employees"
        if m.column == "annual_revenue":
            return f"Company revenue of {_money_one(number)} a year"
        return f"{label}: {_count(number)}"

    def _category_one(self, m: FeatureMeaning, label: str, value: str | None) -> str:
        word = "" if value is None else _word(value, m.column)
        if m.column == "email_domain_type":
            word = ("an " if word[:1] in "aeiou" else "a ") + word
        return CATEGORY_WORDS.get(m.column or "", "{label}: {value}").format(value=word, label=label)

    def _activity_one(self, feature: str, m: FeatureMeaning, v: float) -> str | None:
        words = ACTIVITY_WORDS.get(m.types[0]) if len(m.types) == 1 else None
        label = self.label(feature)
        window = _window(m.window_days)
        if m.agg == "recency":
            if v != v:
                if words is not None:
                    return words.none + window if m.window_days is not None else words.never
                return "No activity" + (window if m.window_days is not None else " on record")
            since = _ago_one(_nan0_one(v))
            if since is None:
                return None
            return words.last.replace("{ago}", since) if words is not None else "Last active " + since
        if m.agg == "decayed_sum":
            lv = self.levels.get(feature)
            p50, p90 = (lv.p50, lv.p90) if lv is not None else (0.0, math.inf)
            level = "Very active" if v >= p90 else "Active" if v > p50 else "Little activity"
            if _nan0_one(v) <= 0:
                level = "No activity"
            return f"{level} in the last {_span(m.half_life_days or 14.0)}"
        if m.agg == "exists":
            some_ = words.some if words is not None else capitalized(label)
            none_ = words.none if words is not None else f"No {label}"
            return (some_ if _nan0_one(v) > 0 else none_) + window
        if m.agg == "count":
            if words is not None:
                if v == 0:
                    return words.none + window
                if v == 1:
                    return words.once + window
                return words.count.replace("{n}", _count(v)) + window
            return capitalized(f"no {label}") if v == 0 else f"{_count(v)} {label}"
        return f"{capitalized(label)}: {_count(v)}"

    def _templated_one(
        self, feature: str, m: FeatureMeaning, row: Mapping[str, Cell], text_columns: Container[str]
    ) -> str | None:
        value = row[feature]
        text = feature in text_columns
        fields: dict[str, str] = {"label": self.label(feature)}
        if m.value_type == "categorical":
            if not text or (value is not None and type(value) is not str):
                return None
            v = math.nan
            fields["value"] = "" if value is None else _word(value, m.column)
        else:
            if text or type(value) is not float:
                return None
            v = value
            fields["value"] = _count(_nan0_one(v))
        for name in set(_fields(m.phrase) + _fields(m.phrase_none)) - {"label", "value"}:
            if name not in row:
                fields[name] = "?"
                continue
            cell = row[name]
            if name in text_columns:
                fields[name] = format_value(cell)
            elif type(cell) is float:
                fields[name] = _format_float_one(cell)
            else:
                return None
        some = (m.phrase or "{label}: {value}").format(**fields)
        if m.phrase_none is None:
            return some
        none = m.phrase_none.format(**fields)
        empty = (v == 0 or not math.isfinite(v)) if m.value_type != "categorical" else False
        return none if empty else some


def _fields(template: str | None) -> list[str]:
    if not template:
        return []
    return [name for _, name, _, _ in parsed_template(template) if name]


def _nan0_one(v: float) -> float:
    """np.nan_to_num of one float: NaN -> 0, +-inf -> the largest finite floats."""
    if v != v:
        return 0.0
    if v in (math.inf, -math.inf):
        return math.copysign(sys.float_info.max, v)
    return v


def _ago_one(d: float) -> str | None:
    """ago() of one day count (None beyond int64's exact range, where ago()'s conversion is not Python's)."""
    if not abs(d) < _EXACT_DAYS:
        return None
    if d < 0.5:
        return "today"
    if d < 1.5:
        return "yesterday"
    return f"{round(d)} days ago"  # round half to even, as np.round


def _format_float_one(x: float) -> str:
    """format_values() of a one-value float64 column: 'unknown', a whole number, or 3 significant digits."""
    if x != x:
        return "unknown"
    if abs(x) < 1e15 and x == round(x):
        return str(int(x))
    return f"{x:.3g}"
