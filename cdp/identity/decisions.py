"""What a scored pair means: linked, vetoed, for review — from the levels named in the settings.

Splink scores a pair; the settings then decide with the comparison levels it reached:
- strong evidence (e.g. the same valid ID number) links whatever the probability and the veto,
  unless a contradicting level is present;
- a veto level (names that disagree outright: spouses sharing a phone, drivers, resold cars)
  forbids an automatic link that the probability alone would make;
- otherwise a pair links at or above the threshold, and goes to the steward in the review band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cdp.identity.model import Clustering, EvidenceRule, SettingsError


def gamma_of_label(model: dict[str, Any], comparison: str, label: str) -> int:
    """Splink numbers non-null levels from the top (best) down to 0 (else)."""
    for comp in model["comparisons"]:
        if comp["output_column_name"] == comparison:
            levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
            for position, level in enumerate(levels):
                if level.get("label_for_charts") == label:
                    return len(levels) - 1 - position
            raise SettingsError(f"identity/settings.yaml: {comparison} has no level {label!r}; its levels: "
                                f"{[lv.get('label_for_charts') for lv in levels]}")
    raise SettingsError(f"identity/settings.yaml: no comparison {comparison!r} in the model")


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """gamma value → level label, per comparison (-1: null)."""
    labels = {}
    for comp in model["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        labels[comp["output_column_name"]] = {len(levels) - 1 - i: lv["label_for_charts"] for i, lv in enumerate(levels)}
        labels[comp["output_column_name"]][-1] = "null"
    return labels


def levels_sql(model: dict[str, Any], levels: dict[str, tuple[str, ...]], join: str) -> str:
    """`gamma_c IN (…)` per comparison, joined with AND / OR."""
    parts = [f"gamma_{comparison} IN ({', '.join(str(gamma_of_label(model, comparison, label)) for label in labels)})"
             for comparison, labels in levels.items()]
    return f" {join} ".join(parts)


def _rule_sql(model: dict[str, Any], rule: EvidenceRule) -> str:
    holds = levels_sql(model, rule.levels, "AND")
    return f"(({holds}) AND NOT ({levels_sql(model, rule.unless, 'OR')}))" if rule.unless else f"({holds})"


@dataclass(frozen=True)
class Decisions:
    """SQL over a scored pair's columns (gamma_*, match_probability)."""

    strong: str  # strong evidence: links
    veto: str  # a veto level, not outranked by strong evidence
    threshold: float
    review_floor: float
    rules: tuple[tuple[str, str], ...] = ()  # (meaning, SQL) of each strong-evidence rule
    veto_levels: str = "FALSE"  # a veto level was reached (whether or not strong evidence outranks it)
    weight_without_veto: str = "match_weight"  # the match weight without the vetoing comparisons' own weight
    attach_unnamed: str = "FALSE"  # a pair that attaches a customer with no full name to a named one

    @classmethod
    def of(cls, model: dict[str, Any], clustering: Clustering) -> "Decisions":
        strong = " OR ".join(_rule_sql(model, r) for r in clustering.strong_evidence) or "FALSE"
        veto = levels_sql(model, clustering.veto, "OR") if clustering.veto else "FALSE"
        return cls(strong=f"({strong})", veto=f"(({veto}) AND NOT ({strong}))",
                   threshold=clustering.match_probability_threshold, review_floor=clustering.review_floor,
                   rules=tuple((r.meaning, _rule_sql(model, r)) for r in clustering.strong_evidence),
                   veto_levels=f"({veto})",
                   weight_without_veto="(match_weight" + "".join(f" - mw_{c}" for c in clustering.veto) + ")",
                   attach_unnamed=" OR ".join(_rule_sql(model, r) for r in clustering.attach_unnamed) or "FALSE")

    @property
    def strong_only(self) -> str:
        """Links that only strong evidence makes: below the threshold, or against a veto level."""
        return f"({self.strong} AND (match_probability < {self.threshold} OR {self.veto_levels}))"

    @property
    def linked(self) -> str:
        return f"({self.strong} OR (match_probability >= {self.threshold} AND NOT {self.veto}))"

    @property
    def vetoed(self) -> str:
        """Pairs the veto keeps apart although the rest of the evidence would link them (the
        probability without the vetoing comparison reaches the threshold): for the steward."""
        threshold_weight = math.log2(self.threshold / (1 - self.threshold)) if self.threshold < 1 else math.inf
        return f"({self.veto} AND {self.weight_without_veto} >= {threshold_weight})"

    @property
    def review(self) -> str:
        """Uncertain pairs, and vetoed ones."""
        return (f"(({self.vetoed}) OR (NOT {self.strong} AND NOT {self.veto} "
                f"AND match_probability >= {self.review_floor} AND match_probability < {self.threshold}))")

    def columns(self) -> str:
        """The decision as columns of a scored pair."""
        return f"{self.strong} AS strong_evidence, {self.veto} AS vetoed, {self.linked} AS linked"

    def decided(self, keys: str, gammas: str) -> str:
        """A narrow query over Splink's predictions: the pair, its scores and levels, and the decision."""
        return (f"SELECT {keys}, match_weight, match_probability, {gammas}, {self.columns()}, "
                f"{self.strong_only} AS strong_only FROM {{this}}")

    @staticmethod
    def for_clustering(keys: str) -> str:
        """A query over the decided pairs that Splink's clustering reads: linked pairs only, strong
        evidence at probability 1."""
        return (f"SELECT {keys}, CASE WHEN strong_evidence THEN 1.0 ELSE match_probability END AS match_probability "
                f"FROM {{this}} WHERE linked")
