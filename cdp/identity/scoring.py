"""Splink's scoring, keeping only what each step needs.

`linker.inference.predict()` keeps whatever the model's `retain_matching_columns` /
`retain_intermediate_calculation_columns` say for every scored pair: at 100k customers that is a
44-column, 1.7 GB table of which clustering and the decisions read a dozen narrow columns. Here
the same Splink SQL (its blocking, comparison vectors and match-weight expressions, built from the
same settings object) runs twice:
- `predict_narrow`: every blocked pair with the pair's ids, match weight / probability, the
  comparison levels (gamma_*) and the additional retained columns — nothing else (and
  `streamed_predictions`: the same pairs as a view, read once — a full run writes them straight
  into its scored pairs' file);
- `score_pairs_in_full`: a given set of pairs (the review band) with the values compared and every
  intermediate weight, as `predict()` with the model's retain settings would give them, for the
  steward's evidence and the dashboards.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from splink.internals.comparison_vector_values import compute_comparison_vector_values_from_id_pairs_sqls
from splink.internals.dialects import SplinkDialect
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls, predict_from_comparison_vectors_sqls_using_settings
from splink.internals.splink_dataframe import SplinkDataFrame
from splink.internals.term_frequencies import _join_tf_to_df_concat_sql, append_term_frequencies_to_pipeline
from splink.internals.unique_id_concat import _composite_unique_id_from_edges_sql, _composite_unique_id_from_nodes_sql
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf, vertically_concatenate_sql

from cdp.identity.backends import create_view, is_spark


def _comparison_vector_sqls(linker, input_table: str, input_table_r: str | None = None) -> list[dict[str, str]]:
    settings = linker._settings_obj
    return compute_comparison_vector_values_from_id_pairs_sqls(
        settings._columns_to_select_for_blocking, settings._columns_to_select_for_comparison_vector_values,
        input_tablename_l=input_table, input_tablename_r=input_table_r or input_table,
        source_dataset_input_column=settings.column_info_settings.source_dataset_input_column,
        unique_id_input_column=settings.column_info_settings.unique_id_input_column,
        link_type=settings._link_type, sql_dialect_str=linker._sql_dialect_str)


def predict_narrow(linker, threshold_match_probability: float) -> SplinkDataFrame:
    """Splink's predict at a threshold, keeping ids, scores, gamma_* and the retained extra columns."""
    blocked, cached = linker.inference._get_or_compute_blocked_pairs_for_predict_chunk()
    try:
        return linker._db_api.sql_pipeline_to_splink_dataframe(_narrow_pipeline(linker, blocked, threshold_match_probability))
    finally:
        if not cached:
            blocked.drop_table_from_database_and_remove_from_cache()


@contextmanager
def streamed_predictions(linker, threshold_match_probability: float, chunk_tuples: int | None = None
                         ) -> Iterator[list[SplinkDataFrame]]:
    """`predict_narrow`'s pairs as views: whoever reads them (once: each read scores every pair again)
    streams the scored pairs instead of a table of them that spills. A million customers' 72M
    scored pairs made a table of about 9 GB, written to DuckDB's spill files and read back.

    One view, or on DuckDB one per chunk when there are more than `chunk_tuples` tuples: chunk (i, j)
    scores the blocked pairs whose left tuple is in the i-th of K parts of the tuples and whose right
    one is in the j-th (a hash of the composite unique id, as Splink's chunked predict parts records),
    so that DuckDB holds 2/K of the tuples in its hash tables instead of every tuple twice (`scoring_chunks`)."""
    blocked, cached = linker.inference._get_or_compute_blocked_pairs_for_predict_chunk()
    try:
        chunks = 1 if is_spark(linker._db_api) else scoring_chunks(_input_rows(linker), chunk_tuples)
        if chunks == 1:
            sql = _narrow_pipeline(linker, blocked, threshold_match_probability).generate_cte_pipeline_sql()
            if is_spark(linker._db_api):  # Splink's SQL in Spark's dialect, as Splink's SparkAPI runs it
                sql = linker._db_api._setup_for_execute_sql(sql, "cdp_scored_pairs_streamed")
            yield [create_view(linker._db_api, "cdp_scored_pairs_streamed", sql)]
            return
        # the pairs in chunks first: Splink's table of them is gone before the tuples are made
        with _chunked_pairs(linker, blocked, chunks, drop=not cached) as pairs, _tuples_in_parts(linker, chunks) as tuples, \
                _joins_as_written(linker):
            yield [create_view(linker._db_api, f"cdp_scored_pairs_streamed_{left}_{right}", _chunk_pipeline(
                linker, pairs, tuples, (left, right, chunks), threshold_match_probability).generate_cte_pipeline_sql())
                   for left in range(chunks) for right in range(chunks)]
    finally:
        if not cached:
            blocked.drop_table_from_database_and_remove_from_cache()


def scoring_chunks(tuples: int, chunk_tuples: int | None) -> int:
    """K: the tuples split in K parts of at most `chunk_tuples` (K x K chunks of pairs); 1 when
    `chunk_tuples` is None. Both sides' parts are in DuckDB's hash tables while a chunk is scored: at
    its 4 GB, 3.1M tuples twice scored 21.0M pairs at 1.4 us each, 6.3M twice spilled 45 GB and took
    3.3-3.4 us a pair (a million customers' first load, 3 and 6 customers in 10; a /tmp probe)."""
    return 1 if chunk_tuples is None else max(1, math.ceil(tuples / chunk_tuples))


def _input_rows(linker) -> int:
    """The tuples Splink was given (DuckDB)."""
    con = linker._db_api._con
    return sum(con.execute(f"SELECT count(*) FROM {table.physical_name}").fetchall()[0][0]
               for table in linker._input_tables_dict.values())


def _chunk_of(key_sql: str, chunks: int) -> str:
    """The part (0 .. chunks-1) of a tuple, from its composite unique id (`source_dataset-__-tuple_id`)."""
    return f"(hash({key_sql}) % {chunks})"


@contextmanager
def _chunked_pairs(linker, blocked: SplinkDataFrame, chunks: int, drop: bool) -> Iterator[str]:
    """The blocked pairs in the order of the chunk each belongs to (left part x chunks + right part),
    numbered once, as a table of DuckDB (dropped after; Splink's table of them dropped now when `drop`):
    each chunk's scoring reads its pairs' row groups."""
    name = "cdp_blocked_pairs_chunked"
    chunk = f"{_chunk_of('join_key_l', chunks)} * {chunks} + {_chunk_of('join_key_r', chunks)}"
    con = linker._db_api._con
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT *, ({chunk})::USMALLINT AS cdp_chunk FROM {blocked.physical_name} "
                "ORDER BY cdp_chunk")
    if drop:
        blocked.drop_table_from_database_and_remove_from_cache()
    try:
        yield name
    finally:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _chunk_pipeline(linker, pairs: str, tuples: SplinkDataFrame, chunk: tuple[int, int, int],
                    threshold_match_probability: float) -> CTEPipeline:
    """The narrow pipeline on one chunk: its blocked pairs, and the tuples of its left and right parts."""
    left, right, chunks = chunk
    pipeline = CTEPipeline([tuples])
    pipeline.enqueue_sql(f"SELECT * EXCLUDE (cdp_chunk) FROM {pairs} WHERE cdp_chunk = {left * chunks + right}",
                         "__splink__blocked_id_pairs")
    for side, part in (("l", left), ("r", right)):
        pipeline.enqueue_sql(f"SELECT * FROM {tuples.templated_name} WHERE cdp_part = {part}", f"cdp_tuples_{side}")
    return _enqueue_scoring(linker, pipeline, "cdp_tuples_l", "cdp_tuples_r", threshold_match_probability)


@contextmanager
def _joins_as_written(linker) -> Iterator[None]:
    """DuckDB's joins in the order Splink writes them (the pairs joined to the left tuples, then to the
    right ones, each hash table built on the tuples): a chunk's pairs, filtered by their number, were
    guessed at 44k rows for 4.7M, and DuckDB built its hash tables on them."""
    con = linker._db_api._con
    con.execute("SET disabled_optimizers = 'join_order,build_side_probe_side'")
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")


@contextmanager
def _tuples_in_parts(linker, chunks: int) -> Iterator[SplinkDataFrame]:
    """The tuples with their term frequencies and their part (`cdp_part`), in the order of the parts, as
    a table of DuckDB while the chunks are scored (dropped after): a chunk reads its parts' row groups."""
    key = _composite_unique_id_from_nodes_sql(linker._settings_obj.column_info_settings.unique_id_input_columns)
    pipeline = enqueue_df_concat_with_tf(linker, CTEPipeline())
    pipeline.enqueue_sql(f"SELECT *, {_chunk_of(key, chunks)} AS cdp_part FROM __splink__df_concat_with_tf "
                         "ORDER BY cdp_part", "cdp_tuples_in_parts")
    tuples = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    try:
        yield tuples
    finally:
        tuples.drop_table_from_database_and_remove_from_cache()


def _narrow_pipeline(linker, blocked: SplinkDataFrame, threshold_match_probability: float) -> CTEPipeline:
    pipeline = CTEPipeline([blocked])
    enqueue_df_concat_with_tf(linker, pipeline)
    return _enqueue_scoring(linker, pipeline, "__splink__df_concat_with_tf", None, threshold_match_probability)


def _enqueue_scoring(linker, pipeline: CTEPipeline, tuples_l: str, tuples_r: str | None,
                     threshold_match_probability: float) -> CTEPipeline:
    """Splink's comparison vectors and match weights of `__splink__blocked_id_pairs`, nothing retained."""
    settings = linker._settings_obj
    pipeline.enqueue_list_of_sqls(_comparison_vector_sqls(linker, tuples_l, tuples_r))
    pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls(
        unique_id_input_columns=settings.column_info_settings.unique_id_input_columns,
        core_model_settings=settings.core_model_settings,
        sql_dialect=SplinkDialect.from_string(settings._sql_dialect_str),
        threshold_match_probability=threshold_match_probability,
        retain_matching_columns=False, retain_intermediate_calculation_columns=False,
        training_mode=True,  # Splink's switch for "gamma_* without the compared values"
        additional_columns_to_retain=settings._additional_columns_to_retain))
    return pipeline


def match_weight_sql(linker, comparison: str) -> str:
    """The comparison's own match weight (Splink's mw_<comparison>) from its gamma_<comparison>."""
    for compared in linker._settings_obj.core_model_settings.comparisons:
        if compared.output_column_name == comparison:
            gamma = compared._gamma_column_name
            levels = " ".join(level._match_weight_sql(gamma) for level in compared.comparison_levels)
            return "CASE " + levels.replace(" as float8)", " as double)") + " END"  # one type both backends read
    raise KeyError(comparison)


def score_pairs_in_full(linker, pairs: SplinkDataFrame) -> SplinkDataFrame:
    """The given pairs (source_dataset_l, tuple_id_l, source_dataset_r, tuple_id_r) scored with every
    compared value and intermediate weight, as the model's own retain settings keep them."""
    settings = linker._settings_obj
    ids = settings.column_info_settings.unique_id_input_columns
    pipeline = CTEPipeline([pairs])
    _enqueue_records_of_pairs_with_tf(linker, pipeline, pairs)
    pipeline.enqueue_sql(
        f"SELECT {_composite_unique_id_from_edges_sql(ids, 'l')} AS join_key_l, "
        f"{_composite_unique_id_from_edges_sql(ids, 'r')} AS join_key_r, '0' AS match_key FROM {pairs.physical_name}",
        "__splink__blocked_id_pairs")
    pipeline.enqueue_list_of_sqls(_comparison_vector_sqls(linker, "__splink__df_concat_with_tf"))
    pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls_using_settings(settings))
    return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)


def _enqueue_records_of_pairs_with_tf(linker, pipeline: CTEPipeline, pairs: SplinkDataFrame) -> None:
    """Splink's `__splink__df_concat_with_tf` for the records the pairs name, not for every record
    (`enqueue_df_concat_with_tf` joins the term frequencies onto all of them: for a few hundred
    review pairs that was most of the cost)."""
    info = linker._settings_obj.column_info_settings
    keys = [c for c in (info.source_dataset_column_name, info.unique_id_column_name) if c]  # no source: dedupe only
    pipeline.enqueue_sql(vertically_concatenate_sql(input_tables=linker._input_tables_dict,
                                                    source_dataset_input_column=info.source_dataset_input_column),
                         "__splink__df_concat_every_record")
    named = " UNION ".join(f"SELECT {', '.join(f'{k}_{side} AS named_{i}' for i, k in enumerate(keys))} "
                           f"FROM {pairs.physical_name}" for side in ("l", "r"))
    on = " AND ".join(f"c.{k} = n.named_{i}" for i, k in enumerate(keys))
    pipeline.enqueue_sql(f"SELECT c.* FROM __splink__df_concat_every_record AS c JOIN ({named}) AS n ON {on}",
                         "__splink__df_concat")
    append_term_frequencies_to_pipeline(linker, pipeline)
    pipeline.enqueue_sql(_join_tf_to_df_concat_sql(linker), "__splink__df_concat_with_tf")
