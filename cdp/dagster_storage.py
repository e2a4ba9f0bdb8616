"""Dagster's SQLite instance storage, with one open connection per database instead of one per statement.

Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine, opens a connection, commits (an
fsync) and disposes the engine for every statement it runs, and an event takes several: an asset
check result is written to the run's database, mirrored into the index and recorded in the check
table. A daily run reports ~1,600 events (82 dbt models, 238 dbt tests, one check per expectation
of every gated source), so this bookkeeping cost seconds at any data size.

`CdpSqliteStorage` is Dagster's SQLite storage (same folders, same files, same schema — an existing
home's history is read as before) whose event log keeps one engine per database, with
`synchronous=NORMAL` on Dagster's WAL journal: a commit no longer waits for the disk. SQLite
still never leaves a database half-written; what a power cut can lose is the last events'
records, never cdp's own state (the home's manifest commits are fsynced, cdp.state.store).

dagster.yaml selects it (`storage: custom:`); shared deployments replace it with Postgres.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, SqliteStorageConfig, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool

OPEN_DATABASES = 8  # run databases kept open at once (the index, the current run's, a few the UI reads)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0,
                           connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _no_fsync_per_commit(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage that keeps the engines of the databases it last used open."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,
                          config_value: SqliteStorageConfig) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:  # Dagster's lock: one statement at a time per storage, as before
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            url = self.conn_string_for_shard(shard)
            if shard not in self._initialized_dbs:  # Dagster's schema setup opens connections of its own
                setup = create_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                self._initdb(setup)
                setup.dispose()
                self._initialized_dbs.add(shard)
            engine = _sqlite_engine(url)
        self._engines[shard] = engine  # most recently used last
        while len(self._engines) > OPEN_DATABASES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the run databases are deleted below: no connection may hold them open
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


class CdpSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, event logs, schedules under base_dir) with the pooled event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: SqliteStorageConfig) -> CdpSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return ConfigurableClassData(__name__, PooledSqliteEventLogStorage.__name__,
                                     yaml.safe_dump({"base_dir": _event_logs_directory(self.base_dir)}))
