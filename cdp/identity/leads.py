"""Leads in identity: weak evidence that joins a customer or stays a prospect, never merges customers.

A lead usually names a surname with a title (王先生) and a mobile, sometimes masked by the
platform (138****5678). That is too little for Splink and too much to throw away, so leads are
linked after the customers are resolved, by rule:

- a lead joins a customer when its full mobile is one of the customer's mobiles and its surname
  (and the gender its title implies, when both are known) agrees with a name of that customer;
  if the mobile and surname fit several customers (a couple sharing a phone, same surname) or
  none, it does not join;
- with `masked_mobiles`, a masked mobile counts when exactly one customer of the whole base has
  a mobile of that shape and that surname (off by default: measured weaker, see
  `cdp identity leads`);
- every other lead is a prospect: leads with the same full mobile and surname are one prospect,
  a masked lead is one prospect per platform lead id; prospects get persistent IDs (PR…) that are
  never reissued, and a prospect who later buys keeps the ID on its old leads beside the customer.

A lead links to at most one customer and customers are never joined through leads, so no lead
can merge two customers.

A day's run links again only the leads whose link may differ: each link keeps the hash of the lead's
inputs (`lead_hash`: name, mobile, platform id, channel, and the code that reads them) and of the
contacts that fit its mobile (`contact_hash`: customer, surname and the customer's genders of every
contact with that mobile); a lead whose two hashes are unchanged keeps its row, which is not written
again: the day's links are one more file of the keyed table (`Transaction.supersede`). The contacts
are read only for the mobiles whose contacts may differ and those of the changed leads, when the
tuples only gained files since the last run read them (`changed_mobiles`; else every customer's).
The result is the same as linking every lead (tests/identity/test_leads.py,
tests/warehouse/test_incremental_demo.py); with `masked_mobiles` every lead is linked again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cdp.fingerprints import code_digest
from cdp.identity.tuples import RECORD_KEY, TUPLE_KEY, gained_files
from cdp.ingest.contracts import load_contracts
from cdp.standardize.contacts import standardize_phone
from cdp.standardize.names import comparison_name, surname
from cdp.standardize.records import distinct_lookup, standardizer_fingerprint
from cdp.state import tables
from cdp.state.store import GONE, SUPERSEDING_SHARE, Snapshot, Transaction

LEAD_LINKS = "identity/lead_links"
PROSPECTS = "identity/prospects"
PROSPECT_NUMBER = "prospect_number"  # counter: the highest prospect ID number ever issued
MASKED = r"^\s*(1[3-9]\d)\s*[*＊]{4}\s*(\d{4})\s*$"
MALE_TITLES, FEMALE_TITLES = ("先生",), ("女士", "小姐", "太太", "夫人")
LINK_SCHEMA = {"lead_no": pl.Utf8, "customer_id": pl.Utf8, "prospect_id": pl.Utf8, "party_id": pl.Utf8,
               "evidence": pl.Utf8, "candidates": pl.UInt32, "surname": pl.Utf8, "gender": pl.Utf8,
               "mobile": pl.Utf8, "masked_mobile": pl.Utf8, "lead_hash": pl.UInt64, "contact_hash": pl.UInt64}
LEAD_INPUTS = ("customer_name", "mobile", "platform_lead_id", "lead_channel")  # what a lead's evidence is read from
LEAD_COLUMNS = ("lead_no", *LEAD_INPUTS)  # what linking reads of a lead
# What a run reads of the last run's links: whether each still holds, and what the summary counts.
KEPT_SCHEMA = {c: LINK_SCHEMA[c] for c in ("lead_no", "mobile", "lead_hash", "contact_hash", "customer_id", "prospect_id",
                                           "evidence")}
PROSPECT_SCHEMA = {"prospect_key": pl.Utf8, "prospect_id": pl.Utf8, "run_id": pl.Utf8}
CONTACT_FILES = "identity/lead_contact_files"  # the files of the tables below the last run's contacts were read from
CONTACT_TABLES = (tables.TUPLES, tables.TUPLE_VALUES)
FILES_SCHEMA = {"table": pl.Utf8, "file": pl.Utf8}


def lead_sources() -> list[str]:
    """The sources whose contracts say `identity: lead`."""
    return [source for source, contract in load_contracts().items() if contract.identity == "lead"]


def current_leads(state: Snapshot, columns: tuple[str, ...] = LEAD_COLUMNS) -> pl.DataFrame | None:
    """Every lead source's current rows in one frame, only `columns` of them (those a source has:
    linking reads five of a lead's ~20); None when none has been published."""
    loaded = [state.read(tables.current(s), columns=_present(state, tables.current(s), columns))
              for s in lead_sources() if state.has(tables.current(s))]
    return pl.concat(loaded, how="diagonal_relaxed") if loaded else None


def _present(state: Snapshot, table: str, columns: tuple[str, ...]) -> list[str]:
    have = state.scan(table).collect_schema().names()
    return [c for c in columns if c in have]


@dataclass(frozen=True)
class LeadRules:
    masked_mobiles: bool = False  # let a masked mobile + surname that fits one customer link a lead


@dataclass
class LeadRun:
    leads: int
    linked: int
    prospects: int
    new_prospects: int
    by_evidence: dict[str, int]
    relinked: int = 0  # leads linked in this run (new or changed, or whose mobile's contacts changed; all on a full run)
    contact_mobiles: int | None = None  # the mobiles whose contacts were read (`changed_mobiles`); None: every mobile


def lead_fingerprint() -> int:
    """Changes when a lead's evidence may be read otherwise: this module's code (not its comments or
    docstrings, cdp/fingerprints.py), the standardizers. So the first run after an edit of its code
    links every lead again: on the 1M bench's day home, `python bench/step_memory.py HOME lead_links
    --set-back FIRST` linked all 6,510,201 leads in 61.4 s after such an edit, the day's 30,830 in
    32.6 s with the first load's own lead code (a /tmp probe)."""
    digest = hashlib.sha256(code_digest([Path(__file__)]))
    digest.update(standardizer_fingerprint().to_bytes(8, "big"))
    return int.from_bytes(digest.digest()[:8], "big") % (1 << 63)


def lead_hashes(leads: pl.DataFrame) -> pl.DataFrame:
    """lead_no and the hash of what its evidence is read from."""
    inputs = [pl.col(c).cast(pl.Utf8) for c in LEAD_INPUTS]
    return leads.select("lead_no", pl.struct(inputs).hash(seed=lead_fingerprint()).alias("lead_hash"))


def contact_hashes(contacts: pl.DataFrame) -> pl.DataFrame:
    """Per mobile, the hash of what a lead with that mobile is linked by: each customer with it, the
    surname and the customer's genders (every contact of the customer: see `_fits`)."""
    genders = contacts.group_by("customer_id").agg(pl.col("gender").drop_nulls().unique().sort().str.join(",").alias("genders"))
    fitting = contacts.filter(pl.col("surname").is_not_null()).join(genders, on="customer_id", how="left")
    rows = fitting.select("mobile", pl.struct("customer_id", "surname", "genders").hash(seed=1).alias("row"))
    return rows.group_by("mobile").agg(pl.col("row").sort()).select(
        "mobile", pl.col("row").hash(seed=2).alias("contact_hash"))


def _title_gender(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if text.endswith(MALE_TITLES):
        return "M"
    if text.endswith(FEMALE_TITLES):
        return "F"
    return None


def lead_evidence(leads: pl.DataFrame) -> pl.DataFrame:
    """Per lead: surname, title gender, full mobile or masked mobile (138****5678), platform id."""
    names = distinct_lookup(leads.get_column("customer_name").cast(pl.Utf8), "customer_name",
                            lambda v: (surname(comparison_name(v)[0]), _title_gender(v)),
                            {"surname": pl.Utf8, "gender": pl.Utf8})
    phones = distinct_lookup(leads.get_column("mobile").cast(pl.Utf8), "mobile", standardize_phone,
                             {"phone": pl.Utf8, "phone_kind": pl.Utf8})
    masked = pl.col("mobile").str.extract_groups(MASKED)
    return (leads.select("lead_no", "customer_name", "mobile", "platform_lead_id", "lead_channel")
            .join(names, on="customer_name", how="left").join(phones, on="mobile", how="left")
            .select("lead_no", "surname", "gender", "platform_lead_id", "lead_channel",
                    pl.when(pl.col("phone_kind") == "mobile").then(pl.col("phone")).alias("full_mobile"),
                    pl.concat_str(masked.struct.field("1"), pl.lit("****"), masked.struct.field("2")).alias("masked_mobile")))


CONTACT_COLUMNS = ("name", "mobile", "is_company", "gender")  # what a contact is read from, per record or tuple
CONTACTS_SCHEMA = {"customer_id": pl.Utf8, "mobile": pl.Utf8, "surname": pl.Utf8, "gender": pl.Utf8}


def customer_contacts(rows: pl.LazyFrame, owners: pl.LazyFrame, key: list[str]) -> pl.DataFrame:
    """Distinct (customer_id, mobile, surname, gender) of the persons among `rows` (`key` and
    CONTACT_COLUMNS; companies left out), each of the customer `owners` (`key`, customer_id) names.

    The rows meet their owners in one streamed join down to their distinct (customer, mobile, name,
    gender), and surnames are looked up for the names left: at a million customers, 16M records
    joined whole and a surname per distinct name of every record took 23 s."""
    people = (rows.filter(pl.col("mobile").is_not_null() & ~pl.col("is_company"))
              .join(owners.select(*key, "customer_id"), on=key)
              .select("customer_id", "mobile", "name", "gender").unique().collect(engine="streaming"))
    names = distinct_lookup(people.get_column("name"), "name", lambda v: (surname(v),), {"surname": pl.Utf8})
    return people.join(names, on="name", how="left").select(*CONTACTS_SCHEMA).unique()


def resolved_contacts(state: Snapshot, mobiles: pl.Series | None = None) -> pl.DataFrame:
    """`customer_contacts` of the last resolution's identity tuples (none when it resolved no record);
    `mobiles`: only of the customers with one of them (every contact of theirs, all their genders).

    A tuple's values are those of every record it stands for (cdp/identity/tuples.py), and its row
    in identity/tuples names the customer the xref gives each of them (both written by the same
    resolution, cdp/identity/issue.py; an erasure drops both): the tuples give the contacts the
    standardized records joined with the xref give, from half the rows. A million customers' 10.5M
    tuples took 4.6 s, their 20M records 6.2 s (`python bench/lead_contacts.py HOME --check` at 862b3da;
    10.0 and 13.2 s on a machine half as fast)."""
    tuples, values = state.scan(tables.TUPLES), state.scan(tables.TUPLE_VALUES)
    if tuples is None or values is None or not state.rows(tables.CUSTOMER_XREF):
        return pl.DataFrame(schema=CONTACTS_SCHEMA)
    if mobiles is not None:
        with_mobile = values.join(pl.LazyFrame({"mobile": mobiles}), on="mobile", how="semi").select(TUPLE_KEY)
        customers = tuples.join(with_mobile, on=list(TUPLE_KEY), how="semi").select("customer_id").unique()
        tuples = tuples.join(customers, on="customer_id", how="semi")
    return customer_contacts(values.select(*TUPLE_KEY, *CONTACT_COLUMNS), tuples, list(TUPLE_KEY))


def contact_files(state: Snapshot) -> pl.DataFrame:
    """The files of the tuples and their values a run's contacts are read from (`changed_mobiles`)."""
    return pl.DataFrame([(t, f) for t in CONTACT_TABLES for f in state.files(t)],
                        schema=FILES_SCHEMA, orient="row")


def changed_mobiles(state: Snapshot, fresh: pl.DataFrame) -> pl.Series | None:
    """The mobiles whose contacts a day's run reads: those whose contacts may differ from the last
    run's, and the full mobiles of the `fresh` leads (those whose inputs changed, new ones). None: every mobile,
    when the tuples or their values changed otherwise than by gaining files since the last run read its
    contacts (a full resolution, an erasure), or nothing says which files it read.

    A mobile's contacts (`contact_hashes`) are the customers of the tuples with that mobile, their
    surnames, and each such customer's genders, from every tuple of theirs. When both tables only
    gained files, a tuple that is new, gone or owned by another customer has a row in one of those;
    so a mobile's contacts can only differ when it is the mobile of such a tuple (its values before or
    now), or of a tuple of a customer that owned or owns one (that customer's genders may differ).
    Both tables are read as every row of their files, no row replaced by a later one: a tuple's values
    never change, and a customer that owned a tuple in any of them is one more whose mobiles are read
    (a million customers' 10.5M tuples: the latest rows took a /tmp probe's process to 4.4 GB here, 2.7 GB so)."""
    if not state.has(CONTACT_FILES):
        return None
    recorded = state.read(CONTACT_FILES, FILES_SCHEMA)
    gained = {t: gained_files(state, t, recorded.filter(pl.col("table") == t).get_column("file").to_list())
              for t in CONTACT_TABLES}
    if any(files is None for files in gained.values()):
        return None
    key = list(TUPLE_KEY)
    changed = pl.concat([pl.scan_parquet(p).select(key) for files in gained.values() for p in files]
                        or [pl.LazyFrame(schema={c: pl.Utf8 for c in key})])
    owned = _every_row(state, tables.TUPLES, [*key, "customer_id"])
    owners = owned.join(changed, on=key, how="semi").select("customer_id").drop_nulls().unique()
    theirs = owned.join(owners, on="customer_id", how="semi").select(key)
    mobiles = (_every_row(state, tables.TUPLE_VALUES, [*key, "mobile"])
               .join(pl.concat([changed, theirs]), on=key, how="semi").select("mobile"))
    of_leads = lead_evidence(fresh).select(pl.col("full_mobile").alias("mobile"))
    return pl.concat([mobiles.collect(engine="streaming"), of_leads]).get_column("mobile").drop_nulls().unique().sort()


def record_contacts(state: Snapshot) -> pl.DataFrame:
    """The same contacts from the standardized records, each of the customer the xref names: what
    `resolved_contacts` is checked against (tests; `python bench/lead_contacts.py HOME --check`)."""
    records, xref = state.scan(tables.PERSON_RECORDS), state.scan(tables.CUSTOMER_XREF)
    if records is None or xref is None:
        return pl.DataFrame(schema=CONTACTS_SCHEMA)
    return customer_contacts(records.select(*RECORD_KEY, *CONTACT_COLUMNS), xref, list(RECORD_KEY))


def _fits(contacts: pl.DataFrame, evidence: pl.DataFrame, key: str, contact_key: pl.Expr) -> pl.DataFrame:
    """Per lead, the customers whose mobile matches `key` with a surname and no contradicting gender."""
    genders = contacts.group_by("customer_id").agg(pl.col("gender").drop_nulls().unique().alias("genders"))
    pairs = (evidence.filter(pl.col(key).is_not_null() & pl.col("surname").is_not_null())
             .select("lead_no", key, "surname", pl.col("gender").alias("lead_gender"))
             .join(contacts.filter(pl.col("surname").is_not_null()).select("customer_id", contact_key.alias(key), "surname"),
                   on=[key, "surname"])
             .unique(["lead_no", "customer_id"]).join(genders, on="customer_id", how="left"))
    return pairs.filter(pl.col("lead_gender").is_null() | pl.col("genders").list.len().eq(0)
                        | pl.col("genders").list.contains(pl.col("lead_gender")))


def link_leads(evidence: pl.DataFrame, contacts: pl.DataFrame, rules: LeadRules) -> pl.DataFrame:
    """lead_no → customer_id (or null), the evidence and the number of customers that fit."""
    found = [_fits(contacts, evidence, "full_mobile", pl.col("mobile")).with_columns(pl.lit("mobile+surname").alias("rule"))]
    if rules.masked_mobiles:
        masked = pl.concat_str(pl.col("mobile").str.slice(0, 3), pl.lit("****"), pl.col("mobile").str.slice(7, 4))
        found.append(_fits(contacts, evidence.filter(pl.col("full_mobile").is_null()), "masked_mobile", masked)
                     .with_columns(pl.lit("masked mobile+surname").alias("rule")))
    fits = pl.concat([f.select("lead_no", "customer_id", "rule") for f in found])
    per_lead = fits.group_by("lead_no").agg(pl.col("customer_id").n_unique().alias("candidates"),
                                            pl.col("customer_id").first(), pl.col("rule").first())
    return evidence.join(per_lead, on="lead_no", how="left").with_columns(
        pl.col("candidates").fill_null(0).cast(pl.UInt32),
        pl.when(pl.col("candidates") == 1).then(pl.col("customer_id")).alias("customer_id"),
        pl.when(pl.col("candidates") == 1).then(pl.col("rule"))
        .when(pl.col("candidates") > 1).then(pl.lit("ambiguous: several customers fit"))
        .when(pl.col("full_mobile").is_not_null() & pl.col("surname").is_not_null()).then(pl.lit("no customer fits"))
        .otherwise(pl.lit("too little evidence")).alias("evidence"))


def prospect_keys(links: pl.DataFrame) -> pl.Expr:
    """What makes two unlinked leads one prospect: full mobile + surname, else the platform's lead id,
    else the lead itself."""
    return (pl.when(pl.col("full_mobile").is_not_null() & pl.col("surname").is_not_null())
            .then(pl.concat_str(pl.lit("m:"), "full_mobile", pl.lit(":"), "surname"))
            .when(pl.col("platform_lead_id").is_not_null())
            .then(pl.concat_str(pl.lit("p:"), "lead_channel", pl.lit(":"), "platform_lead_id"))
            .otherwise(pl.concat_str(pl.lit("l:"), "lead_no")))


def assign_prospects(links: pl.DataFrame, registry: pl.DataFrame, issued: int, run_id: str
                     ) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Persistent prospect IDs for every lead's prospect key (linked leads keep theirs too: a prospect
    who buys stays traceable). Returns (links with prospect_id, registry, highest number issued)."""
    keyed = links.with_columns(prospect_keys(links).alias("prospect_key"))
    new = (keyed.select("prospect_key").unique().join(registry, on="prospect_key", how="anti").sort("prospect_key")
           .with_columns(pl.format("PR{}", (pl.int_range(1, pl.len() + 1) + issued).cast(pl.Utf8).str.zfill(8))
                         .alias("prospect_id"), pl.lit(run_id).alias("run_id")))
    registry = pl.concat([registry, new.cast(PROSPECT_SCHEMA)])
    keyed = keyed.join(registry.select("prospect_key", "prospect_id"), on="prospect_key", how="left")
    return keyed, registry, issued + new.height


def resolve_leads(tx: Transaction, leads: pl.DataFrame, run_id: str, rules: LeadRules = LeadRules(),
                  full: bool = False) -> LeadRun:
    """Link the current leads to the resolved customers and write lead links and prospects, in `tx`:
    the leads whose link may differ from the last run's (all when `full`, see the module)."""
    state, hashed = tx.view(), lead_hashes(leads)
    plan = _plan(state, leads, hashed, None if full or rules.masked_mobiles else _previous_links(state))
    contacts, by_mobile, kept, scope = plan.contacts, plan.by_mobile, plan.kept, plan.scope
    links = link_leads(lead_evidence(plan.redo), contacts, rules)
    keyed, registry, highest = assign_prospects(links, state.read(PROSPECTS, PROSPECT_SCHEMA),
                                                state.counter(PROSPECT_NUMBER), run_id)
    linked = keyed.join(hashed, on="lead_no", how="left").join(
        by_mobile, left_on="full_mobile", right_on="mobile", how="left").select(
        "lead_no", "customer_id", "prospect_id", pl.coalesce("customer_id", "prospect_id").alias("party_id"),
        "evidence", "candidates", "surname", "gender", pl.col("full_mobile").alias("mobile"), "masked_mobile",
        "lead_hash", "contact_hash",
    ).cast(LINK_SCHEMA)
    out = pl.concat([kept, linked.select(*KEPT_SCHEMA)])  # every lead's link, in the columns the summary counts
    if plan.gone is not None and linked.height <= SUPERSEDING_SHARE * out.height:  # else written whole (supersede would too)
        _supersede_links(tx, linked, plan.gone)
    else:
        tx.write(LEAD_LINKS, pl.concat([_kept_rows(state, kept), linked]).sort("lead_no"))
    tx.append(PROSPECTS, registry.slice(state.rows(PROSPECTS)))  # the registry only grows: the new prospects
    tx.set_counter(PROSPECT_NUMBER, highest)
    tx.write(CONTACT_FILES, contact_files(state))
    return LeadRun(leads=out.height, linked=out.filter(pl.col("customer_id").is_not_null()).height,
                   prospects=out.filter(pl.col("customer_id").is_null()).get_column("prospect_id").n_unique(),
                   new_prospects=highest - state.counter(PROSPECT_NUMBER),
                   by_evidence=dict(out.group_by("evidence").len().rows()), relinked=linked.height,
                   contact_mobiles=None if scope is None else scope.len())


def _every_row(state: Snapshot, table: str, columns: list[str]) -> pl.LazyFrame:
    """`columns` of every row of the table's files, in order (a row a later file replaces too)."""
    return pl.concat([pl.scan_parquet(p).select(columns) for p in state.paths(table)])


def _previous_links(state: Snapshot) -> pl.DataFrame | None:
    """The last run's links, in the columns that say whether one still holds and those the summary
    counts (KEPT_SCHEMA: 7 of 12 columns of a million customers' 6.5M leads); None when there are none,
    or they were written before the hashes were kept (every lead is linked again)."""
    links = state.scan(LEAD_LINKS)
    if links is None or not {"lead_hash", "contact_hash"} <= set(links.collect_schema().names()):
        return None
    return links.select(*KEPT_SCHEMA).collect()


def _kept_rows(state: Snapshot, kept: pl.DataFrame) -> pl.DataFrame:
    """Every column of the kept links, for a table written whole."""
    if kept.is_empty():
        return pl.DataFrame(schema=LINK_SCHEMA)
    rows = state.scan(LEAD_LINKS).join(kept.lazy().select("lead_no"), on="lead_no", how="semi").select(*LINK_SCHEMA)
    return rows.collect().cast(LINK_SCHEMA)


def _supersede_links(tx: Transaction, linked: pl.DataFrame, gone: pl.DataFrame) -> None:
    """The links of this run's leads as one more file of the lead links (keyed by lead_no,
    `Transaction.supersede`), with a row saying a lead is gone for each linked before and no longer
    current: the other leads keep their rows, not written again (6.5M leads at a million customers)."""
    rows = pl.concat([linked.sort("lead_no").with_columns(pl.lit(False).alias(GONE)).lazy(),
                      gone.lazy().with_columns(pl.lit(True).alias(GONE))], how="diagonal_relaxed")
    tx.supersede(LEAD_LINKS, rows, ("lead_no",))


@dataclass
class _Plan:
    scope: pl.Series | None  # the mobiles whose contacts were read (`changed_mobiles`); None: every one
    contacts: pl.DataFrame  # `resolved_contacts` of those
    by_mobile: pl.DataFrame  # their `contact_hashes`
    kept: pl.DataFrame  # the last run's links that still hold (KEPT_SCHEMA)
    redo: pl.DataFrame  # the leads to link
    gone: pl.DataFrame | None = None  # lead_no of the last run's links whose lead is no longer current (None: no links)


def _plan(state: Snapshot, leads: pl.DataFrame, hashed: pl.DataFrame, previous: pl.DataFrame | None) -> _Plan:
    """Which leads a run links, and the contacts it links them with: every lead and every contact
    without the last run's links; else the leads whose inputs or mobile's contacts changed, with the
    contacts of the mobiles that may differ and theirs (`changed_mobiles`)."""
    if previous is None:
        contacts = resolved_contacts(state)
        return _Plan(None, contacts, contact_hashes(contacts), pl.DataFrame(schema=KEPT_SCHEMA), leads)
    held, fresh = _by_inputs(previous, hashed)
    gone = previous.select("lead_no").join(hashed.select("lead_no"), on="lead_no", how="anti")
    del previous  # the caller holds none: 6.5M links at a million customers are not held while the contacts are read
    scope = changed_mobiles(state, leads.join(fresh, on="lead_no", how="semi"))
    contacts = resolved_contacts(state, scope)
    by_mobile = contact_hashes(contacts)
    kept, stale = _by_contacts(held, by_mobile, scope)
    return _Plan(scope, contacts, by_mobile, kept, leads.join(pl.concat([fresh, stale]), on="lead_no", how="semi"), gone)


def _by_inputs(previous: pl.DataFrame, hashed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The last run's links of the leads whose inputs are unchanged (KEPT_SCHEMA), and the lead_no of
    the others (new leads too): one join of the leads (a million customers' 6.5M leads: 2.4 s for
    the links that held, against 3.8-4.1 s in two; /tmp probe)."""
    joined = hashed.rename({"lead_hash": "hash_now"}).join(previous, on="lead_no", how="left")
    same = pl.col("lead_hash") == pl.col("hash_now")
    return (joined.filter(same).select(*KEPT_SCHEMA).cast(KEPT_SCHEMA),
            joined.filter(~same.fill_null(False)).select("lead_no"))


def _by_contacts(held: pl.DataFrame, by_mobile: pl.DataFrame, scope: pl.Series | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Of the links whose lead's inputs are unchanged, those that still hold (the same contacts on the
    lead's mobile: a lead without a full mobile fits no customer whatever the contacts; a mobile out
    of `scope` has the last run's), and the lead_no of the others."""
    same = pl.lit(False) if scope is None else ~pl.col("mobile").is_in(scope.implode())
    joined = held.join(by_mobile.rename({"contact_hash": "contacts_now"}), on="mobile", how="left")
    holds = pl.col("mobile").is_null() | same | pl.col("contact_hash").eq_missing(pl.col("contacts_now"))
    return joined.filter(holds).drop("contacts_now"), joined.filter(~holds).select("lead_no")


def evaluate_lead_links(links: pl.DataFrame, xref: pl.DataFrame, truth: pl.DataFrame,
                        leads_truth: pl.DataFrame) -> dict[str, float | int]:
    """Precision and recall of lead → customer links against the demo truth.

    A customer's true person is the person holding most of its records. A link is right when the
    lead's person is the linked customer's person. Recall counts the leads of persons who are
    customers (buyers); `reachable` are those with a full mobile and a surname, the evidence the
    rule needs.
    """
    person_of = (xref.select("source", "record_key", "customer_id")
                 .join(truth.select("source", "record_key", "person_id"), on=["source", "record_key"])
                 .group_by("customer_id", "person_id").len().sort(["len", "person_id"], descending=[True, False])
                 .group_by("customer_id", maintain_order=True).first().select("customer_id", "person_id"))
    customer_persons = person_of.get_column("person_id").unique()
    joined = links.join(leads_truth.select(pl.col("record_key").alias("lead_no"), pl.col("person_id").alias("true_person")),
                        on="lead_no").join(person_of.rename({"person_id": "linked_person"}), on="customer_id", how="left")
    linked = joined.filter(pl.col("customer_id").is_not_null())
    correct = linked.filter(pl.col("linked_person") == pl.col("true_person")).height
    of_customers = joined.filter(pl.col("true_person").is_in(customer_persons.implode()))
    reachable = of_customers.filter(pl.col("mobile").is_not_null() & pl.col("surname").is_not_null())
    hits = of_customers.filter(pl.col("linked_person") == pl.col("true_person")).height
    return {
        "leads": joined.height, "linked": linked.height, "correct": correct,
        "precision": correct / linked.height if linked.height else 1.0,
        "leads_of_customers": of_customers.height, "recall": hits / of_customers.height if of_customers.height else 1.0,
        "reachable": reachable.height,
        "recall_reachable": reachable.filter(pl.col("linked_person") == pl.col("true_person")).height / reachable.height
        if reachable.height else 1.0,
        "prospect_ids": links.filter(pl.col("customer_id").is_null()).get_column("prospect_id").n_unique(),
        "true_prospects": leads_truth.filter(~pl.col("buyer")).get_column("person_id").n_unique(),
    }
