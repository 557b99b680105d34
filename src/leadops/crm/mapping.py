"""The config's mapping turned into one DuckDB query per source: rename, value maps, coercion, checks.

The query runs on each streamed batch (text columns plus `_row`) and returns the canonical, typed columns
with `_check` (which of Plan.checks failed first) and `_detail` set on the rows that break a contract; all of
it is vectorized SQL. Keys (duplicates) and references are checked later, set-based, against the warehouse.
"""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from leadops.crm.contracts import Check, contract_checks, ident, lit, required_check, type_checks
from leadops.crm.emails import domain_type_of, email_domain
from leadops.crm.joins import joined_columns, relation
from leadops.crm.properties import PROPERTIES
from leadops.crm.readers import BAD_FIELD, ROW
from leadops.crm.schema import TableDef
from leadops.errors import ConfigError, IngestError
from leadops.settings.crm import FilterSpec, SourceSpec, TableContract

# a time ending in a UTC offset: a real one (at most 18 hours, minutes below 60) or anything shaped like one
OFFSET_PATTERN = r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*([zZ]|[+-](0[0-9]|1[0-8])(:?[0-5][0-9])?)\s*$"
OFFSET_SHAPED = r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*[+-][0-9]{2}:?[0-9]{0,2}\s*$"
TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")
INT_PATTERN = r"-?(0|[1-9][0-9]{0,17})"
NUMBER_PATTERN = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
RAW = "_ingest_raw"  # the name a raw batch is registered under for the query
CHECK = "_check"  # index into Plan.checks of the first rule a row breaks (NULL: the row passes)
DETAIL = "_detail"  # that rule's message, built for failing rows only


def _text_value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return lit("true" if value else "false")
    return lit(str(value))


@dataclass
class Plan:
    """What one source needs from the reader and the query that maps a batch onto its table."""

    sql: str
    read_columns: list[str]
    outputs: list[str]
    checks: list[Check] = field(default_factory=list)
    canonical_of: dict[str, str] = field(default_factory=dict)
    flat: bool = False
    filter_sql: str | None = None  # SELECT _filter, count(*) of the rows the source's filters leave out
    filter_reasons: list[str] = field(default_factory=list)
    # (source column, property name): the loader adds their JSON as column PROPERTIES before the query runs
    properties: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _missing(expr: str, missing: list[str]) -> str:
    """NULL where `trim(expr)` is a missing-value token, else `expr`; exact, without trimming every value.

    DuckDB's trim strips spaces only, so a value without a space is its own trim: it matches when it is one of
    the tokens (no longer than the longest, a length test that costs nothing); only values holding a space are
    trimmed. A token with an edge space can never equal a trimmed value and takes no part. Trimming every value
    cost 0.09-0.22 CPU-s per million values and column; this 0.04-0.07 (2.6M activities x 6 columns)."""
    if not missing:
        return expr
    tokens = ", ".join(lit(m) for m in missing)
    bare = [m for m in missing if m == m.strip(" ")]
    if not bare:
        return expr
    bare_tokens = ", ".join(lit(m) for m in bare)
    longest = max(len(m.encode("utf-8")) for m in bare)
    return (
        f"CASE WHEN (strlen({expr}) <= {longest} AND {expr} IN ({bare_tokens})) "
        f"OR (contains({expr}, ' ') AND trim({expr}) IN ({tokens})) THEN NULL ELSE {expr} END"
    )


def _value_map(expr: str, mapping: dict[str, Any]) -> str:
    if not mapping:
        return expr
    whens = " ".join(f"WHEN {lit(str(k))} THEN {_text_value(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {expr} END"


def _typed(kind: str, text: str, timezone: str) -> str:
    # DuckDB's casts to numbers and times skip surrounding whitespace themselves: a trim would only copy strings
    t = text
    if kind in ("DOUBLE", "INTEGER"):
        return f"TRY_CAST({t} AS DOUBLE)"
    if kind == "BOOLEAN":
        trues = ", ".join(lit(w) for w in TRUE_WORDS)
        falses = ", ".join(lit(w) for w in FALSE_WORDS)
        t = f"lower(trim({text}))"
        return f"CASE WHEN {t} IN ({trues}) THEN true WHEN {t} IN ({falses}) THEN false END"
    if kind == "TIMESTAMP":
        naive = f"TRY_CAST({t} AS TIMESTAMP)"
        if timezone not in ("UTC", "Etc/UTC", "Z"):
            naive = f"timezone('UTC', timezone({lit(timezone)}, {naive}))"
        offset = f"timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ))"
        # `+25:00` parses in DuckDB (as 25 hours): an offset no clock has is unparseable, never a silent shift
        return (f"CASE WHEN regexp_matches({t}, {lit(OFFSET_PATTERN)}) THEN {offset} "
                f"WHEN regexp_matches({t}, {lit(OFFSET_SHAPED)}) THEN NULL ELSE {naive} END")  # fmt: skip
    return text


def _filter_condition(rule: FilterSpec, expr: str) -> str:
    """True when the rule leaves the row out (a missing value is 'none of these' for not_in)."""
    if rule.equals is not None:
        return f"coalesce({expr} = {lit(rule.equals)}, false)"
    if rule.in_ is not None:
        return f"coalesce({expr} IN ({', '.join(lit(v) for v in rule.in_) or 'NULL'}), false)"
    if rule.not_in is not None:
        return f"coalesce({expr} NOT IN ({', '.join(lit(v) for v in rule.not_in) or 'NULL'}), true)"
    return f"{expr} IS NULL" if rule.missing else f"{expr} IS NOT NULL"


def _json_object(pairs: list[tuple[str, str]]) -> str:
    """A JSON object of the present values (as JSON strings, the way features compare them), as text; NULL when
    none is present. Built as text: typing every value or json_merge_patch over every row cost 1.7-2.5x the
    whole mapping query of an activities batch."""
    parts = [f"CASE WHEN {v} IS NOT NULL THEN {lit(json.dumps(k) + ':')} || CAST(to_json({v}) AS VARCHAR) END"
             for k, v in pairs]  # fmt: skip
    return f"NULLIF('{{' || concat_ws(',', {', '.join(parts)}) || '}}', '{{}}')"


def _attribute_json(expr: str) -> str:
    """A typed JSON value for one attribute: integers and numbers as numbers, TRUE/FALSE as booleans."""
    return (
        f"CASE WHEN {expr} IS NULL THEN CAST('null' AS JSON) "
        f"WHEN regexp_full_match({expr}, {lit(INT_PATTERN)}) THEN to_json(CAST({expr} AS BIGINT)) "
        f"WHEN regexp_full_match({expr}, {lit(NUMBER_PATTERN)}) AND isfinite(TRY_CAST({expr} AS DOUBLE)) "
        f"THEN to_json(CAST({expr} AS DOUBLE)) "
        f"WHEN {expr} IN ('true', 'TRUE', 'True') THEN CAST('true' AS JSON) "
        f"WHEN {expr} IN ('false', 'FALSE', 'False') THEN CAST('false' AS JSON) "
        f"ELSE to_json({expr}) END"
    )


def build_plan(
    spec: SourceSpec,
    table: TableDef,
    contract: TableContract,
    header: list[str],
    *,
    file: str,
    now: datetime,
    earliest: date = date(1970, 1, 1),
) -> Plan:
    """Check the mapping against the file's header and build the batch query; one-line errors name the column."""
    joined = joined_columns(spec)
    available = set(header) | set(joined)

    lookups = {lk.name: lk for lk in spec.lookups}

    def need(column: str, role: str) -> str:
        prefix, _, rest = column.partition(".")
        if column not in available and prefix in lookups and column not in header:
            raise ConfigError(
                f"source '{spec.name}': column '{column}' ({role}): lookup '{prefix}' brings only "
                f"{lookups[prefix].columns}; add '{rest}' to its columns"
            )
        if column not in available:
            shown = ", ".join(header[:30]) + (" ..." if len(header) > 30 else "")
            raise IngestError(f"source '{spec.name}': column '{column}' ({role}) is not in {file} (it has: {shown})")
        return column

    try:
        zoneinfo.ZoneInfo(spec.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"source '{spec.name}': timezone '{spec.timezone}' is not an IANA time zone") from exc

    for lk in spec.lookups:
        if lk.source_key not in header:
            need(lk.source_key, f"lookup '{lk.name}' source_key")
    columns = dict(spec.columns)
    email_source = spec.email_column
    for src, dst in list(columns.items()):
        if dst not in table.columns:
            raise ConfigError(
                f"source '{spec.name}': column '{src}' maps onto '{dst}', which table '{table.name}' does not have "
                f"(it has: {', '.join(table.columns)})"
            )
        if dst == "email" and email_source is None:
            email_source = src
        if dst in ("email", "attributes"):
            del columns[src]
        need(src, f"mapped to {dst}")
    if email_source is not None:
        need(email_source, "email_column")
    for dst in spec.compose:
        if dst not in table.columns:
            raise ConfigError(f"source '{spec.name}': 'compose' builds '{dst}', which table '{table.name}' lacks")
        for src in spec.compose[dst].columns:
            need(src, f"composed into {dst}")
    unknown_values = [c for c in spec.values if c not in columns.values() and c not in spec.compose]
    if unknown_values:
        raise ConfigError(f"source '{spec.name}': 'values' maps columns {unknown_values} that nothing maps onto")

    missing = spec.missing_values
    read: list[str] = [ROW, BAD_FIELD]
    text: dict[str, str] = {}  # canonical -> SQL text expression (stage v)
    origin: dict[str, str] = {}  # canonical -> source column (for messages)
    # a value map repeats its operand once per value (CASE x WHEN ...): a composed or coalesced operand is
    # computed once per row in a projection before it (`_pre__<column>`), not once per mapped value
    pre: dict[str, str] = {}
    sources_of: dict[str, list[str]] = {}
    for src, dst in columns.items():
        sources_of.setdefault(dst, []).append(src)
    for dst, srcs in sources_of.items():  # several sources onto one column: the first that is not missing
        parts = [_missing(ident(src), missing) for src in srcs]
        expr = parts[0]
        if len(parts) > 1 or spec.values.get(dst):
            pre[f"_pre__{dst}"] = parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"
            expr = ident(f"_pre__{dst}")
        text[dst] = _value_map(expr, spec.values.get(dst, {}))
        origin[dst] = " or ".join(srcs)
    for dst, how in spec.compose.items():
        pieces = ", ".join(_missing(ident(src), missing) for src in how.columns)
        pre[f"_pre__{dst}"] = f"NULLIF(concat_ws({lit(how.separator)}, {pieces}), '')"
        text[dst] = _value_map(ident(f"_pre__{dst}"), spec.values.get(dst, {}))
        origin[dst] = how.separator.join(how.columns)
    for dst, value in spec.constants.items():
        if dst not in table.columns:
            raise ConfigError(f"source '{spec.name}': constant for '{dst}', which table '{table.name}' lacks")
        text[dst] = _text_value(value)
        origin[dst] = f"constant {dst}"
    if spec.id_from_row:
        text[table.key] = f"{lit(spec.name + ':')} || CAST({ROW} AS VARCHAR)"
        origin[table.key] = "row number"
    extra: dict[str, str] = {}
    after_pre: dict[str, str] = {}  # a second projection, over the first one's columns
    if email_source is not None and table.name == "leads":
        # the address and its domain once per row: the domain type's CASE names the domain eight times
        address, domain = ident("_pre__email_address"), ident("_pre__email_domain")
        pre["_pre__email_address"] = f"lower(trim({_missing(ident(email_source), missing)}))"
        after_pre["_pre__email_domain"] = email_domain(address)
        if "email_domain_type" not in text:
            extra["email_domain_type"] = domain_type_of(address, domain)
        if spec.keep_email:
            extra["email"] = address

    flat_cols: list[str] = []
    if spec.flat_outcome is not None:
        flat_cols.append(need(spec.flat_outcome.column, "flat_outcome.column"))
        if spec.flat_outcome.deal_value_column:
            flat_cols.append(need(spec.flat_outcome.deal_value_column, "flat_outcome.deal_value_column"))

    composed = [src for how in spec.compose.values() for src in how.columns]
    for src in spec.properties:
        need(src, "properties")
    for drop in spec.filters:
        need(drop.column, "filters")
    used = set(columns) | ({email_source} if email_source else set()) | set(flat_cols) | set(composed)
    for src in spec.columns:
        used.add(src)
    if spec.attributes == "rest":
        attributes = [c for c in header if c not in used]
    else:
        attributes = [need(c, "attributes") for c in spec.attributes]
    if attributes and "attributes" in table.columns:
        pairs = ", ".join(f"{lit(c)}, {_attribute_json(_missing(ident(c), missing))}" for c in attributes)
        extra["attributes"] = f"CAST(json_object({pairs}) AS VARCHAR)"
    prebuilt: list[tuple[str, str]] = []
    if spec.properties and all(src in header for src in spec.properties):
        prebuilt = list(spec.properties.items())  # built once per distinct combination (crm.properties)
        extra["properties"] = ident(PROPERTIES)
    elif spec.properties:  # a property read from a lookup's column exists only inside the query
        props = [(name, _missing(ident(src), missing)) for src, name in spec.properties.items()]
        extra["properties"] = _json_object(props)

    keys = [lk.source_key for lk in spec.lookups]
    wanted = [*columns, *([email_source] if email_source else []), *flat_cols, *attributes, *composed,
              *spec.properties, *(drop.column for drop in spec.filters), *keys]  # fmt: skip
    read += [c for c in dict.fromkeys(wanted) if c not in joined or c in header]

    # requirements that nothing maps onto are config errors, not millions of quarantined rows
    required = list(dict.fromkeys([table.key, *table.not_null, *contract.required]))
    if spec.mode == "enrich":  # a partial update names the row and the columns it changes, nothing else
        required = [table.key]
    for column in required:
        if column not in table.columns:
            raise ConfigError(f"contracts.{table.name}.required names '{column}', which the table does not have")
        if column not in text and column not in extra:
            raise IngestError(
                f"source '{spec.name}': the {table.name} contract requires '{column}' but no column of {file} "
                "maps onto it (add it to 'columns', 'constants', or set id_from_row for the key)"
            )

    typed_sql = {c: _typed(table.columns[c], f"v.{ident('v__' + c)}", spec.timezone) for c in text}
    typed_ref = {c: ident("t__" + c) for c in text}
    text_ref = {c: ident("v__" + c) for c in text}

    checks: list[Check] = [
        Check(
            f"{BAD_FIELD} IS NOT NULL",
            "bad_encoding",
            BAD_FIELD,
            f"'column ' || {BAD_FIELD} || ': invalid UTF-8 bytes or a NUL byte'",
            field_is_sql=True,
        )
    ]
    for c in text:
        checks += type_checks(c, table.columns[c], text_ref[c], typed_ref[c], origin[c])
    for c in required:
        if c in typed_ref:
            checks.append(required_check(c, typed_ref[c]))
    checks += contract_checks(table, contract, typed_ref, text_ref, now, earliest)
    converted = ""
    deal = ""
    if spec.flat_outcome is not None:
        words = ", ".join(lit(w.lower()) for w in spec.flat_outcome.true_values)
        converted = f", coalesce(lower(trim({ident(spec.flat_outcome.column)})) IN ({words}), false) AS _converted"
        if spec.flat_outcome.deal_value_column:
            deal_text = _missing(ident(spec.flat_outcome.deal_value_column), missing)
            deal = f", TRY_CAST(trim({deal_text}) AS DOUBLE) AS _deal_value"
            checks += type_checks("deal_value", "DOUBLE", deal_text, f"TRY_CAST(trim({deal_text}) AS DOUBLE)",
                                  spec.flat_outcome.deal_value_column)  # fmt: skip
        else:
            deal = ", CAST(NULL AS DOUBLE) AS _deal_value"

    v_select = ", ".join(
        [ROW, BAD_FIELD]
        + [f"{expr} AS {ident('v__' + c)}" for c, expr in text.items()]
        + [f"{expr} AS {ident('x__' + c)}" for c, expr in extra.items()]
    )
    t_select = ", ".join(f"{expr} AS {typed_ref[c]}" for c, expr in typed_sql.items())

    finals: list[str] = []
    outputs: list[str] = []
    for c in table.columns:
        if c in text:
            expr = typed_ref[c]
            kind = table.columns[c]
            if kind == "INTEGER":
                expr = f"TRY_CAST({expr} AS INTEGER)"
            rule = contract.categories.get(c)
            if rule is not None and rule.unknown in ("other", "missing"):
                allowed = ", ".join(lit(v) for v in rule.allowed)
                replacement = lit(rule.other_value) if rule.unknown == "other" else "NULL"
                expr = f"CASE WHEN {expr} IS NOT NULL AND {expr} NOT IN ({allowed}) THEN {replacement} ELSE {expr} END"
            finals.append(f"{expr} AS {ident(c)}")
            outputs.append(c)
        elif c in extra:
            finals.append(f"{ident('x__' + c)} AS {ident(c)}")
            outputs.append(c)
    numbered = " ".join(f"WHEN {check.condition} THEN {i}" for i, check in enumerate(checks))
    details = " ".join(f"WHEN {i} THEN {check.detail}" for i, check in enumerate(checks))
    flat_out = ", _converted, _deal_value" if converted else ""
    # one pass over the checks gives the first failing one's index; the detail text is built for bad rows only
    source_rows = relation(spec, RAW)
    for projection in (pre, after_pre):
        if projection:
            columns_sql = ", ".join(f"{e} AS {ident(n)}" for n, e in projection.items())
            source_rows = f"(SELECT r.*, {columns_sql} FROM {source_rows} r)"
    filter_sql = None
    kept = ""
    if spec.filters:
        tests = [_filter_condition(drop, _missing(ident(drop.column), missing)) for drop in spec.filters]
        which = " ".join(f"WHEN {test} THEN {i}" for i, test in enumerate(tests))
        filter_sql = (f"SELECT _filter, count(*) FROM (SELECT CASE {which} END AS _filter FROM {source_rows} r) f "
                      "WHERE _filter IS NOT NULL GROUP BY _filter")  # fmt: skip
        kept = " WHERE NOT (" + " OR ".join(tests) + ")"
    sql = f"""
WITH v AS (SELECT {v_select}{converted}{deal} FROM {source_rows} r{kept}),
t AS (SELECT v.*, {t_select} FROM v),
c AS (SELECT t.*, CASE {numbered} END AS {CHECK} FROM t)
SELECT {", ".join(finals)}, {ROW}, {BAD_FIELD}{flat_out}, {CHECK},
       CASE WHEN {CHECK} IS NOT NULL THEN CASE {CHECK} {details} END END AS {DETAIL}
FROM c
"""
    canonical_of = dict(spec.columns)
    if email_source is not None:
        canonical_of.setdefault(email_source, "email")
    return Plan(
        sql=sql, read_columns=read, outputs=outputs, checks=checks, canonical_of=canonical_of, flat=bool(converted),
        filter_sql=filter_sql, filter_reasons=[drop.reason for drop in spec.filters], properties=prebuilt,
        missing=list(missing),
    )  # fmt: skip
