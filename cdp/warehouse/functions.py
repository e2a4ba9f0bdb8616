"""Python functions the warehouse SQL calls, registered on dbt-duckdb's connection (a dbt-duckdb
plugin, listed in warehouse/profiles.yml).

cdp_is_company_name(name) is the standardizer's own company-name test, so the masking of analyst
names and identity resolution never disagree about what a company name is.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import BOOLEAN, VARCHAR

from cdp.standardize.names import clean_text, is_company_name


def company_name(name: str | None) -> bool:
    """True when the name, cleaned as the standardizer cleans it, is a company name."""
    text = clean_text(name)
    return bool(text) and is_company_name("".join(text.split()))


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.create_function("cdp_is_company_name", company_name, [VARCHAR], BOOLEAN,
                             null_handling="special", side_effects=False)
