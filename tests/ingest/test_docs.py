from cdp.ingest.docs import DOC_PATH, render_project_docs


def test_committed_data_dictionary_page_matches_the_yaml():
    assert DOC_PATH.read_text(encoding="utf-8") == render_project_docs(), "run `cdp docs` and commit docs/data-dictionary.md"
