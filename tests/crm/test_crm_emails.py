"""Email domain type: the Python rule and the vectorized SQL agree, case by case."""

from __future__ import annotations

import duckdb
import pytest

from leadops.crm.emails import FREE_PROVIDERS, classify_email, domain_type_sql

CASES = [
    ("bob@acme.com", "corporate"),
    ("Bob.Smith@Sub.Acme.co.uk", "corporate"),
    ("someone@gmail.com", "free"),
    ("x@YAHOO.co.uk", "free"),
    ("prof@mit.edu", "edu"),
    ("a@cs.ox.ac.uk", "edu"),
    ("a@unimelb.edu.au", "edu"),
    ("clerk@irs.gov", "gov"),
    ("officer@army.mil", "gov"),
    ("x@hmrc.gov.uk", "gov"),
    ("not-an-address", "unknown"),
    ("two@@signs.com", "unknown"),
    ("nodot@localhost", "unknown"),
    ("space in@acme.com", "unknown"),
    ("", "unknown"),
    (None, "unknown"),
]


@pytest.mark.parametrize(("address", "expected"), CASES)
def test_classify_email_puts_each_address_in_its_domain_type(address: str | None, expected: str) -> None:
    assert classify_email(address) == expected


def test_sql_classification_matches_python_on_every_case() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE e (a VARCHAR)")
    con.executemany("INSERT INTO e VALUES (?)", [[a] for a, _ in CASES])
    got = con.execute(f"SELECT a, {domain_type_sql('a')} FROM e").fetchall()
    assert [(a, t) for a, t in got] == [(a, classify_email(a)) for a, _ in CASES]


def test_free_provider_list_holds_the_big_consumer_mailboxes() -> None:
    for domain in ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com"):
        assert domain in FREE_PROVIDERS
