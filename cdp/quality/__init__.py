"""Quality gate: Great Expectations suites per dataset, row quarantine, batch verdicts."""
