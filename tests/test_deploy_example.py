"""examples/deploy/dagster.yaml, a shared deployment's Dagster instance (README, *Configuration*,
Dagster): Dagster accepts it, its run launcher takes its settings, and it keeps the embedded
instance's rule of one run per home."""

from __future__ import annotations

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config
from dagster._core.launcher import RunLauncher
from dagster._serdes.config_class import ConfigurableClassData

from cdp.paths import PROJECT_DIR
from cdp.yamlfile import read_yaml

EXAMPLE = PROJECT_DIR / "examples" / "deploy" / "dagster.yaml"
ENVIRONMENT = {"DAGSTER_PG_HOST": "postgres", "DAGSTER_PG_DB": "dagster", "DAGSTER_PG_USERNAME": "dagster",
               "DAGSTER_PG_PASSWORD": "secret", "CDP_IMAGE": "registry.example/cdp:1", "CDP_DOCKER_NETWORK": "cdp"}


@pytest.fixture
def environment(monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def test_dagster_accepts_the_deployment_instance(environment):
    config, _ = dagster_instance_config(str(EXAMPLE.parent), EXAMPLE.name)  # Dagster's instance schema
    assert set(config["storage"]) == {"postgres"}
    launcher = config["run_launcher"]
    built = ConfigurableClassData(launcher["module"], launcher["class"], yaml.safe_dump(launcher["config"])).rehydrate(
        as_type=RunLauncher)  # the launcher's own schema, env vars resolved
    assert built.image == ENVIRONMENT["CDP_IMAGE"] and built.networks == [ENVIRONMENT["CDP_DOCKER_NETWORK"]]
    assert "CDP_EXECUTOR=multiprocess" in built.env_vars


def test_the_deployment_keeps_one_run_per_home():
    example, embedded = read_yaml(EXAMPLE), read_yaml(PROJECT_DIR / "dagster.yaml")
    assert example["run_coordinator"] == embedded["run_coordinator"]
    assert example["concurrency"] == embedded["concurrency"]


def test_run_containers_get_what_the_storage_reads():
    """A run's container opens the same Postgres storage: every variable the storage reads is passed on."""
    example = read_yaml(EXAMPLE)
    read = {value["env"] for value in example["storage"]["postgres"]["postgres_db"].values() if isinstance(value, dict)}
    passed = {entry.split("=", 1)[0] for entry in example["run_launcher"]["config"]["env_vars"]}
    assert read and read <= passed
