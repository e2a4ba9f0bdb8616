"""The `duckdb:` section of identity/settings.yaml is typed: its memory limit and spill folder
reach Splink's connection, a misspelled option is refused naming it."""

from __future__ import annotations

import pytest

from cdp.identity.backends import BackendError, DuckDBOptions, make_db_api
from cdp.identity.model import IdentitySettings


def _setting(api, name: str) -> str:
    return api._con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def test_splinks_connection_spills_where_the_run_says_below_the_limit(tmp_path):
    settings = IdentitySettings.load().spilling_to(tmp_path / "scratch")
    assert settings.duckdb.memory_limit == "4GB"  # identity/settings.yaml
    api = make_db_api("duckdb", settings.backend_options)
    assert _setting(api, "temp_directory") == str(tmp_path / "scratch")
    assert _setting(api, "memory_limit") == "3.7 GiB"
    api._con.close()


def test_parquet_materialisation_goes_to_the_spill_folder(tmp_path):
    api = make_db_api("duckdb", DuckDBOptions(materialisation="parquet", temp_directory=str(tmp_path)))
    assert [p.name.startswith("cdp-splink-") for p in tmp_path.iterdir()] == [True]
    api._con.close()


@pytest.mark.parametrize("raw, named", [({"memory_limt": "4GB"}, "memory_limt"),
                                         ({"materialisation": "arrow"}, "arrow")])
def test_a_wrong_duckdb_option_is_refused_by_name(raw, named):
    with pytest.raises(BackendError, match=named):
        DuckDBOptions.parse(raw)
