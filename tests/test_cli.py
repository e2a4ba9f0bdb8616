"""`cdp run` without --landing (the README's first command): the demo extracts are generated into the
home and run as of the demo's date. The platform's run itself is what the other tests cover; here it is
replaced, to see what the command hands it."""

from __future__ import annotations

from typer.testing import CliRunner

import cdp.runner
from cdp.cli import DEMO_AS_OF, app


class Handed(Exception):
    """Raised by the stand-in for run_pipeline once it has seen its arguments."""


def test_cdp_run_without_a_landing_generates_the_demo_and_runs_it_as_of_its_date(tmp_path, monkeypatch):
    seen = {}

    def stand_in(landing, home, as_of=None, **_):
        seen.update(landing=landing, home=home, as_of=as_of)
        raise Handed

    monkeypatch.setattr(cdp.runner, "run_pipeline", stand_in)
    home = tmp_path / "home"
    result = CliRunner().invoke(app, ["run", "--home", str(home), "--customers", "60", "--seed", "3"])
    assert isinstance(result.exception, Handed), result.output
    assert seen == {"landing": home / "landing", "home": home, "as_of": DEMO_AS_OF}
    assert (home / "landing" / "_truth" / "truth.parquet").is_file() and any((home / "landing" / "sales").glob("*.csv"))
