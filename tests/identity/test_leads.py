"""Leads in identity: unit rules on small frames, and precision against the demo truth (reuses demo_run)."""

from __future__ import annotations

import polars as pl

from cdp.identity.leads import (
    LEAD_LINKS,
    PROSPECT_SCHEMA,
    LeadRules,
    assign_prospects,
    evaluate_lead_links,
    lead_evidence,
    link_leads,
)
from cdp.state import tables

CONTACTS = pl.DataFrame({  # a couple sharing one mobile, and a 王 with his own mobile
    "customer_id": ["C1", "C2", "C3"], "mobile": ["13800000001", "13800000001", "13900000009"],
    "surname": ["王", "李", "王"], "gender": ["M", "F", "M"]})


def _leads(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["lead_no", "customer_name", "mobile", "platform_lead_id", "lead_channel"],
                        orient="row")


def test_a_lead_joins_the_one_customer_its_mobile_and_surname_fit():
    leads = _leads([("L1", "王先生", "138 0000 0001", None, "展厅到店"), ("L2", "李女士", "13800000001", None, "官网"),
                    ("L3", "张先生", "13800000001", None, "官网"), ("L4", "抖音用户1234", "13900000009", "DY1", "抖音直播"),
                    ("L5", "王女士", "13900000009", None, "官网")])
    links = link_leads(lead_evidence(leads), CONTACTS, LeadRules()).sort("lead_no")
    assert links.get_column("customer_id").to_list() == ["C1", "C2", None, None, None]
    assert links.get_column("evidence").to_list()[2:] == ["no customer fits", "too little evidence", "no customer fits"]


def test_a_lead_that_fits_two_customers_joins_neither():
    contacts = pl.concat([CONTACTS, pl.DataFrame({"customer_id": ["C4"], "mobile": ["13900000009"], "surname": ["王"],
                                                  "gender": [None]}, schema=CONTACTS.schema)])
    links = link_leads(lead_evidence(_leads([("L1", "王先生", "13900000009", None, "官网")])), contacts, LeadRules())
    assert links.row(0, named=True)["customer_id"] is None
    assert links.row(0, named=True)["candidates"] == 2


def test_prospect_ids_are_persistent_and_never_reissued():
    leads = _leads([("L1", "赵先生", "13700000001", None, "官网"), ("L2", "赵先生", "13700000001", None, "懂车帝"),
                    ("L3", "汽车之家用户1", "137****0002", "AH9", "汽车之家")])
    links = link_leads(lead_evidence(leads), CONTACTS, LeadRules())
    first, registry, issued = assign_prospects(links, pl.DataFrame(schema=PROSPECT_SCHEMA), 0, "run1")
    assert first.get_column("prospect_id").n_unique() == 2 and issued == 2
    more = pl.concat([links, link_leads(lead_evidence(_leads([("L4", "钱女士", "13600000003", None, "官网")])),
                                        CONTACTS, LeadRules())])
    again, _, issued = assign_prospects(more, registry, issued, "run2")
    assert again.filter(pl.col("lead_no") != "L4").select("lead_no", "prospect_id").sort("lead_no").equals(
        first.select("lead_no", "prospect_id").sort("lead_no"))
    assert again.filter(pl.col("lead_no") == "L4").get_column("prospect_id").item() == "PR00000003" and issued == 3


def test_lead_links_are_precise_against_the_demo_truth(demo_run, demo_landing):
    summary, _ = demo_run
    state = summary.home.snapshot()
    links = state.read(LEAD_LINKS)
    truth = demo_landing / "_truth"
    scores = evaluate_lead_links(links, state.read(tables.CUSTOMER_XREF), pl.read_parquet(truth / "truth.parquet"),
                                 pl.read_parquet(truth / "leads_truth.parquet"))
    assert scores["linked"] > 0.5 * scores["leads_of_customers"]
    assert scores["precision"] >= 0.99, scores
    # No lead joins two customers: one link per lead, and customers are what Splink resolved.
    assert links.get_column("lead_no").is_unique().all()
