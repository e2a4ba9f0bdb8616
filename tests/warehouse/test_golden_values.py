"""int_golden_values packs a value's first record (trust rank, event date latest first, source) into one
integer: it must pick what the survivorship rules say, spelt out here as windows over every recorded
value, on records full of ties (sources of one date and trust) and on every kind of date (none,
0001-01-01, DuckDB's first and last)."""

from __future__ import annotations

import random
import re

import duckdb
import pytest

from cdp.paths import WAREHOUSE_DIR

SOURCES = ["sales", "receipts", "contracts", "repair_orders", "leads", "complaints"]
DATES = [None, "0001-01-01", "1970-01-01", "2024-05-01", "2024-05-02", "9999-12-31", "5881580-07-10", "5877642-06-25 (BC)"]

# The rules as the model's comment states them, with windows: each value's frequency and first record
# (rule key, event date latest first, source, record key), then the first value (rule key, its first
# record's trust and date, the value).
REFERENCE = """
with candidates as (
    select * from (unpivot (select customer_id, source, record_key, event_date, trim(name_raw) as customer_name,
                                   mobile, id_number, city from int_customer_records)
                   on customer_name, mobile, id_number, city into name attribute value value)
),
keyed as (
    select c.*, r.rule, count(*) over (partition by c.customer_id, c.attribute, c.value) as frequency,
           case r.rule when 'most_trusted' then coalesce(t.trust_rank, 1000) else 0 end as by_record
    from candidates as c join survivorship as r using (attribute)
    left join source_trust as t on t.attribute = c.attribute and t.source = c.source
),
first_records as (
    select * from keyed qualify row_number() over (partition by customer_id, attribute, value
                                                   order by by_record, event_date desc nulls last, source, record_key) = 1
)
select customer_id, attribute, value, source, rule, frequency from first_records
qualify row_number() over (partition by customer_id, attribute
                           order by case rule when 'most_frequent' then -frequency else 0 end, by_record,
                                    event_date desc nulls last, value) = 1
"""


def model_sql() -> str:
    """The model's SQL on plain tables: its config dropped, refs by name, every customer in scope."""
    text = (WAREHOUSE_DIR / "models" / "intermediate" / "int_golden_values.sql").read_text(encoding="utf-8")
    text = re.sub(r"\{\{ config\(.*?\) \}\}", "", text, flags=re.S)
    text = re.sub(r"\{\{ ref\('(\w+)'\) \}\}", r"\1", text)
    text = text.replace("{{ in_scope('customer_id') }}", "true")
    assert "{{" not in text and "{%" not in text, "int_golden_values uses Jinja this test does not render"
    return text


def records(seed: int, customers: int = 150) -> list[tuple]:
    """Records with few values, sources and dates each: most choices are decided by a tie-break."""
    rng = random.Random(seed)
    rows = []
    for n in range(customers * 8):
        rows.append((f"C{rng.randrange(customers)}", rng.choice(SOURCES), f"R{n:05d}", rng.choice(DATES),
                     rng.choice(["王伟", " 王伟", "王玮", None]), rng.choice(["13900000001", "13900000002", None]),
                     rng.choice(["110101199003074514", "11010119900307803X", None]), rng.choice(["广州", "深圳", None])))
    return rows


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE int_customer_records (customer_id VARCHAR, source VARCHAR, record_key VARCHAR, "
                    "event_date DATE, name_raw VARCHAR, mobile VARCHAR, id_number VARCHAR, city VARCHAR)")
        con.execute("CREATE TABLE int_corrections (correction_id VARCHAR, customer_id VARCHAR, attribute VARCHAR, "
                    "value VARCHAR, corrected_at TIMESTAMP)")
        for seed in ("survivorship", "source_trust"):
            path = WAREHOUSE_DIR / "seeds" / f"{seed}.csv"
            con.execute(f"CREATE TABLE {seed} AS SELECT * FROM read_csv('{path}', all_varchar=true)")
        con.execute("ALTER TABLE source_trust ALTER trust_rank TYPE INTEGER")
        yield con


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("every_rule", ["as shipped", "most_trusted", "latest", "most_frequent"])
def test_the_packed_first_record_picks_what_the_rules_say(con, seed, every_rule):
    if every_rule != "as shipped":  # every attribute under one rule, every source ranked
        con.execute(f"UPDATE survivorship SET rule = '{every_rule}'")
        con.execute("DELETE FROM source_trust")
        con.executemany("INSERT INTO source_trust VALUES (?, ?, ?)",
                        [(a, s, r + 1) for a in ("customer_name", "mobile", "id_number", "city")
                         for r, s in enumerate(SOURCES[:4])])  # two sources unlisted: rank 1000
    con.executemany("INSERT INTO int_customer_records VALUES (?, ?, ?, ?, ?, ?, ?, ?)", records(seed))
    got = con.execute(f"SELECT * FROM ({model_sql()}) ORDER BY ALL").fetchall()
    want = con.execute(f"SELECT * FROM ({REFERENCE}) ORDER BY ALL").fetchall()
    assert len(got) > 400 and got == want
    ties = con.execute("SELECT count(*) FROM (SELECT customer_id, event_date FROM int_customer_records "
                       "GROUP BY ALL HAVING count(DISTINCT source) > 1)").fetchone()[0]
    assert ties > 50  # the source decides between records of one customer and date
