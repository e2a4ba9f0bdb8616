"""Python functions the warehouse SQL calls, registered on dbt-duckdb's connection (a dbt-duckdb
plugin, listed in warehouse/profiles.yml).

cdp_has_company_marker(name): the name, cleaned as the standardizer cleans it, carries one of the
standardizer's company-name markers (公司, 集团, 有限 …). The analyst masking shows a name in full
only when it does (and the customer has a valid credit code): the markers, not a name's length,
which also takes "赵玉娟女士" for a company.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import BOOLEAN, VARCHAR

from cdp.standardize.names import COMPANY_MARKERS, clean_text


def has_company_marker(name: str | None) -> bool:
    text = clean_text(name)
    return bool(text) and any(marker in "".join(text.split()) for marker in COMPANY_MARKERS)


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.create_function("cdp_has_company_marker", has_company_marker, [VARCHAR], BOOLEAN,
                             null_handling="special", side_effects=False)
