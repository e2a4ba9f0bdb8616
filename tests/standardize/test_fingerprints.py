"""The code fingerprints that decide a full run (every record standardized, every lead linked, the
warehouse built from empty files) change with what the code does, not with its comments or docs."""

import ast
import shutil
from pathlib import Path

import pytest

import cdp.identity.leads
import cdp.standardize.names
from cdp.fingerprints import code_digest
from cdp.identity.leads import lead_fingerprint
from cdp.standardize.records import standardizer_fingerprint

NAMES = Path(cdp.standardize.names.__file__)


def _edited(tmp_path: Path, edit) -> Path:
    """A copy of the names standardizer with `edit` applied to its text."""
    copy = tmp_path / NAMES.name
    copy.write_text(edit(NAMES.read_text(encoding="utf-8")), encoding="utf-8")
    return copy


def _module_docstring(text: str) -> str:
    return ast.get_docstring(ast.parse(text), clean=False)


@pytest.mark.parametrize("edit", [
    pytest.param(lambda t: t.replace(_module_docstring(t), "Another module docstring."), id="module docstring"),
    pytest.param(lambda t: t.replace('    """The family name', '    """Reworded: the family name', 1), id="function docstring"),
    pytest.param(lambda t: t.replace("\ndef surname(", "\n# a new comment\n\n\ndef surname(", 1), id="comment and blank lines"),
    pytest.param(lambda t: t.replace("return 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1",
                                     "return (2 if len(name) > 2\n        and name[:2] in COMPOUND_SURNAMES else 1)"),
                 id="layout"),
])
def test_comments_docstrings_and_layout_keep_the_fingerprint(tmp_path, edit):
    edited = _edited(tmp_path, edit)
    assert edited.read_text(encoding="utf-8") != NAMES.read_text(encoding="utf-8")
    assert code_digest([edited]) == code_digest([NAMES])


@pytest.mark.parametrize("edit", [
    pytest.param(lambda t: t.replace("欧阳 司马", "欧阳 司空 司马"), id="a constant"),
    pytest.param(lambda t: t.replace("len(name) > 4", "len(name) > 5", 1), id="a comparison"),
    pytest.param(lambda t: t.replace("    if name in COMPOUND_SURNAMES:\n        return name\n", "", 1),
                 id="a statement removed"),
])
def test_a_change_to_the_code_changes_the_fingerprint(tmp_path, edit):
    edited = _edited(tmp_path, edit)
    assert edited.read_text(encoding="utf-8") != NAMES.read_text(encoding="utf-8")
    assert code_digest([edited]) != code_digest([NAMES])


def test_the_fingerprints_read_the_installed_modules(tmp_path, monkeypatch):
    """standardizer_fingerprint and lead_fingerprint hash the modules they name: an edit of the lead
    linking code's docstring keeps the lead fingerprint, one of its rules changes it."""
    before = lead_fingerprint(), standardizer_fingerprint()
    module = tmp_path / "leads.py"
    shutil.copyfile(cdp.identity.leads.__file__, module)
    monkeypatch.setattr(cdp.identity.leads, "__file__", str(module))
    module.write_text(module.read_text(encoding="utf-8").replace('"""Leads in identity:', '"""Reworded. Leads in identity:', 1),
                      encoding="utf-8")
    assert (lead_fingerprint(), standardizer_fingerprint()) == before
    module.write_text(module.read_text(encoding="utf-8").replace('("先生",)', '("先生", "老板")', 1), encoding="utf-8")
    assert lead_fingerprint() != before[0]
