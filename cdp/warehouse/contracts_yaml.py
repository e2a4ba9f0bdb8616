"""The dbt sources and staging models that follow from the source contracts.

`warehouse/models/staging/_contracts.yml` declares one dbt source `validated.<source>` per
contract (its columns typed and described from assets/dictionary.yaml) and documents the staging
model `stg_<source>` that joins it to its CustomerID. The contracts stay the one source of truth:
`cdp docs` rewrites the file and a test fails when the committed file no longer matches them.
"""

from __future__ import annotations

import yaml

from cdp.ingest.contracts import Contract, FieldSpec, load_contracts
from cdp.paths import WAREHOUSE_DIR

CONTRACTS_YAML = WAREHOUSE_DIR / "models" / "staging" / "_contracts.yml"
SQL_TYPES = {"string": "VARCHAR", "date": "DATE", "integer": "BIGINT", "decimal": "DECIMAL(18,2)"}
# Lineage columns every validated current table carries (cdp/ingest): name → (type, meaning).
LINEAGE = {
    "_source_file": ("VARCHAR", "Landing file the row was delivered in (path under the landing folder)"),
    "_source_row": ("BIGINT", "Row of that file as a user sees it in a spreadsheet (header = row 1)"),
    "_load_id": ("VARCHAR", "Dagster run that loaded the row"),
    "_delivery": ("VARCHAR", "Delivery (partition key, YYYY-MM-DD) whose version of the record is current"),
}
CUSTOMER_ID = "Persistent CustomerID from identity.customer_xref"
HEADER = ("# Generated from assets/*.yaml (source contracts) and assets/dictionary.yaml by `cdp docs`:\n"
          "# edit those, then run `cdp docs`. A test fails when this file no longer matches them.\n")


def _field_doc(spec: FieldSpec) -> str:
    return f"{spec.meaning} ({spec.type}; PII: {spec.pii})"


def _source_table(contract: Contract) -> dict:
    columns = [{"name": name, "description": _field_doc(spec), "data_type": SQL_TYPES[spec.type]}
               for name, spec in contract.types.items()]
    columns += [{"name": name, "description": meaning, "data_type": sql_type}
                for name, (sql_type, meaning) in LINEAGE.items()]
    return {"name": contract.source, "description": f"{contract.description}: the current validated rows "
            f"(every delivery that passed its gate, latest version of each record). Restricted: raw PII.",
            "meta": {"primary_key": contract.primary_key}, "columns": columns}


# What a staging model joins its rows to, by the contract's identity role.
IDENTITY_JOINS = {
    "customer": ([{"name": "customer_id", "description": CUSTOMER_ID}],
                 "joined to identity.customer_xref on {key}"),
    "lead": ([{"name": "customer_id", "description": "CustomerID the lead is linked to (mobile + compatible surname); "
                                                     "null for an unconverted prospect"},
              {"name": "prospect_id", "description": "Persistent prospect ID of the lead (kept after the prospect buys)"},
              {"name": "link_evidence", "description": "Why the lead is or is not linked to a customer"}],
             "joined to identity.lead_links on {key}"),
    "none": ([], "with no person of their own"),
}
# Its link columns that are never null (with the record key: the model's not_null_columns test).
REQUIRED_LINKS = {"customer": ["customer_id"], "lead": ["prospect_id"], "none": []}
# The identity table a staging model's link comes from, by the contract's identity role (macros/recompute.sql).
LINKS = {"customer": "customer_xref", "lead": "lead_links"}


def _staging_model(contract: Contract) -> dict:
    key = contract.primary_key
    identity_columns, joined = IDENTITY_JOINS[contract.identity]
    columns = list(identity_columns)
    for name, spec in contract.types.items():
        column = {"name": name, "description": _field_doc(spec)}
        if name == key:
            column["data_tests"] = ["unique"]
        columns.append(column)
    columns += [{"name": name, "description": meaning} for name, (_, meaning) in LINEAGE.items() if name != "_load_id"]
    return {
        "name": f"stg_{contract.source}",
        # synced: a daily build compares only the new deliveries' rows and those whose link changed
        # (macros/recompute.sql), rewrites only the rows that differ, and records their customers as
        # touched (macros/synced.sql)
        "config": {"materialized": "synced", "unique_key": key, "recompute": "recompute_staged"}
        | ({"links": LINKS[contract.identity]} if contract.identity in LINKS else {})
        | ({"touches": "customer_id"} if identity_columns else {}),
        "description": f"{contract.description}: validated rows (typed per assets/dictionary.yaml) "
                       f"{joined.format(key=key)}. Restricted: raw PII.",
        "columns": columns,
        "data_tests": [{"not_null_columns": {"arguments": {"columns": [*REQUIRED_LINKS[contract.identity], key]}}},
                       {"row_count_equals": {"name": f"stg_{contract.source}_has_every_validated_row",
                                             "arguments": {"compare_model": f"source('validated', '{contract.source}')"}}}],
    }


def render_contracts_yaml(contracts: dict[str, Contract] | None = None) -> str:
    contracts = contracts if contracts is not None else load_contracts()
    document = {
        "sources": [{
            "name": "validated",
            "description": "The validated current table of each source contract (assets/<source>.yaml), read in "
                           "place from Parquet during the build.",
            "database": "inputs",
            "schema": "validated",
            "tables": [_source_table(c) for c in contracts.values()],
        }],
        "models": [_staging_model(c) for c in contracts.values()],
    }
    return HEADER + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)

