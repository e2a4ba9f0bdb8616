"""Leads in identity: unit rules on small frames, and precision against the demo truth (reuses demo_run)."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from cdp.identity.leads import (
    LEAD_LINKS,
    PROSPECT_SCHEMA,
    LeadRules,
    assign_prospects,
    changed_mobiles,
    current_leads,
    evaluate_lead_links,
    lead_evidence,
    lead_hashes,
    link_leads,
    resolve_leads,
    resolved_contacts,
)
from cdp.identity.tuples import RECORD_KEY, TUPLE_KEY
from cdp.paths import Home
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


def test_the_contacts_of_the_tuples_are_those_of_the_records(demo_run, same_contacts):
    """After a first load; a day's run and an erasure check it too (tests/warehouse/test_incremental_demo.py,
    tests/privacy/test_erasure.py)."""
    summary, _ = demo_run
    state = summary.home.snapshot()
    assert same_contacts(state) > state.read(tables.CUSTOMERS).height / 2


@pytest.mark.parametrize("written", ["whole", "as a day's changes"])
def test_a_day_links_again_only_the_leads_that_may_differ(demo_run, tmp_path, monkeypatch, written):
    """Incremental lead links equal linking every lead: after a merge of two customers (the contacts
    on their mobiles change), a lead whose mobile and name became a customer's, and a new lead; and
    when the links are written whole (too many linked again), with the kept ones read back whole.
    The merge written whole (as a full resolution writes the tuples' customers), every mobile's
    contacts are read; written as one more file of the keyed table (as a day's resolution writes
    it), only those of the mobiles that may differ (`changed_mobiles`): every mobile of the customer
    merged into among them, its genders being the merged one's too."""
    summary, _ = demo_run
    home = Home(tmp_path / "home")
    shutil.copytree(summary.home.root, home.root)
    state = home.snapshot()
    leads, links = current_leads(state), state.read(LEAD_LINKS)
    xref, tuples = state.read(tables.CUSTOMER_XREF), state.read(tables.TUPLES)
    linked = links.filter(pl.col("customer_id").is_not_null()).sort("lead_no")
    several = resolved_contacts(state).group_by("customer_id").agg(pl.col("mobile").n_unique()).filter(pl.col("mobile") > 1)
    into = linked.join(several, on="customer_id", how="semi")[0, "customer_id"]  # a customer with several mobiles
    merged = linked.filter(pl.col("customer_id") != into)[0, "customer_id"]
    model = linked.filter(pl.col("customer_id") == into).row(0, named=True)
    named = leads.filter(pl.col("lead_no") == model["lead_no"]).row(0, named=True)
    prospect = links.filter(pl.col("customer_id").is_null() & pl.col("mobile").is_not_null()).get_column("lead_no")[0]
    day = pl.concat([
        leads.with_columns(  # the prospect's lead now names the customer's mobile and name
            pl.when(pl.col("lead_no") == prospect).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
            for c, v in (("mobile", named["mobile"]), ("customer_name", named["customer_name"]))),
        leads.filter(pl.col("lead_no") == model["lead_no"]).with_columns(pl.lit("NEW-LEAD-1").alias("lead_no")),
    ])
    with home.state.transaction("a day") as tx:
        for name, rows, key in ((tables.CUSTOMER_XREF, xref, RECORD_KEY), (tables.TUPLES, tuples, TUPLE_KEY)):
            if written == "whole":
                tx.write(name, rows.with_columns(pl.col("customer_id").replace(merged, into)))
            else:  # a merge names both anew: the merged customer's rows, now the other's
                tx.supersede(name, rows.filter(pl.col("customer_id") == merged).with_columns(
                    pl.lit(into).alias("customer_id")).lazy(), key)
        if written != "whole":  # the mobiles of the customer merged into: its genders changed (every one of them)
            own = resolved_contacts(state).filter(pl.col("customer_id") == into).get_column("mobile")
            own = own.filter(own != named["mobile"]).unique()  # not the changed lead's own mobile
            fresh = lead_hashes(day).join(links.select("lead_no", "lead_hash"), on=["lead_no", "lead_hash"], how="anti")
            scope = changed_mobiles(tx.view(), day.join(fresh, on="lead_no", how="semi"))
            assert own.len() and own.is_in(scope.implode()).all()
        day_run = resolve_leads(tx, day, "day")
        assert tx.view().superseding_key(LEAD_LINKS) == ("lead_no",)  # the day's links: a file of their own
        incremental = tx.read(LEAD_LINKS).sort("lead_no")
        gone = leads[0, "lead_no"]
        resolve_leads(tx, day.filter(pl.col("lead_no") != gone), "day")  # a lead no longer current: its link goes
        assert tx.read(LEAD_LINKS).sort("lead_no").equals(incremental.filter(pl.col("lead_no") != gone))
        every = resolve_leads(tx, day, "day", full=True)
        assert incremental.equals(tx.read(LEAD_LINKS)) and every.contact_mobiles is None
        with monkeypatch.context() as patched:
            patched.setattr("cdp.identity.leads.SUPERSEDING_SHARE", -1.0)  # no day is small enough
            rewritten = resolve_leads(tx, day, "day")
        assert rewritten.relinked == 0 and tx.view().superseding_key(LEAD_LINKS) == ()  # one file, the kept rows
        assert incremental.equals(tx.read(LEAD_LINKS))
        into_mobiles = resolved_contacts(tx.view()).filter(pl.col("customer_id") == into).get_column("mobile").unique()
    assert 3 <= day_run.relinked < day.height / 4
    if written == "whole":
        assert day_run.contact_mobiles is None
    else:  # the customers' mobiles and the changed leads', a few of the base's
        assert 0 < day_run.contact_mobiles < resolved_contacts(state).get_column("mobile").n_unique() / 10
        assert rewritten.contact_mobiles == 0  # nothing changed since the run before
    # the changed and the new lead fit the customer the model lead fits, now holding the merged one's contacts too
    assert incremental.filter(pl.col("lead_no").is_in([prospect, "NEW-LEAD-1"])).get_column("customer_id").to_list() == [
        into, into]
    assert incremental.filter(pl.col("customer_id") == merged).is_empty()
    assert into_mobiles.len() > 1
