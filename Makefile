# Everyday commands. The README's two commands are the same steps without make.
.PHONY: install check test test-fast lock demo

install:  ## the locked versions, with the test tools
	pip install -c requirements.lock -e ".[test,spark,deploy]"

check:  ## lint
	ruff check .

test: check  ## the whole suite (what CI runs), on every core
	pytest

test-fast:  ## unit tests only: no end-to-end runs on demo data (~1 minute)
	pytest -m "not e2e"

lock:  ## pin what is installed now: run after changing dependencies in pyproject.toml
	{ echo "# Exact versions CI and the README install with (pip constraints: \`pip install -c requirements.lock -e .\`)."; \
	  echo "# Regenerate after changing dependencies: make lock"; \
	  pip freeze --exclude-editable | grep -v "^cdp=="; } > requirements.lock

demo:  ## the whole platform on generated demo data
	cdp run
