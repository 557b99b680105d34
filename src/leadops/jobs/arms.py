"""The nightly job's side of experiments: which model versions the running experiments need, the night's sticky
assignments, each treatment lead's score from its arm's version, and routing per arm with a fair share of Sales.

Capacity is shared fairly: the run is routed once as if there were no experiment; the new-to-Sales slots that
went to the experiment's leads are then split between its arms by their weights, and each arm's leads are
routed again, alone, by the arm's policy and scores. So an arm wins by choosing better leads for the same Sales
capacity, never by taking slots from the other arm (scores of two models on different scales never compete).
With capacity per territory or per rep (`business.capacity.by`) the slots keep their territory and rep: each
arm gets named slots (`routing.Slot`) dealt from the experiment's, so no territory or rep takes more new leads
across the arms than the plain routing gave it, which its capacity bounds.
A lead belongs to at most one experiment: the earliest-started one that holds it.

Imports only leadops.experiments' store and assignment, which sit on settings and the warehouse alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from leadops.jobs.candidates import SalesCandidates
from leadops.jobs.inputs import FeatureSource
from leadops.jobs.model import ModelRef, ScorerLike
from leadops.jobs.publish import explain_leads
from leadops.jobs.routing import RoutingPlan, Slot, plan, route_run
from leadops.settings.business import SalesCapacity
from leadops.settings.experiments import ExperimentSpec
from leadops.warehouse import Warehouse

if TYPE_CHECKING:
    from leadops.config import Settings


@dataclass
class ActiveExperiment:
    """A running or stopped-but-undecided experiment and what each of its arms scores with tonight."""

    spec: ExperimentSpec
    versions: dict[str, int]
    arms: dict[str, str] = field(default_factory=dict)  # lead_id -> arm, filled by assign_run
    scored: dict[int, list[str]] = field(default_factory=dict)  # version -> leads it scored, by score_treatments


def active_experiments(
    settings: Settings, warehouse: Warehouse, when: datetime, champion: int, challenger: int | None
) -> list[ActiveExperiment]:
    """Experiments whose logged arms tonight's run honours, each arm resolved to a registry version."""
    from leadops.experiments import store
    from leadops.experiments.errors import ExperimentError

    store.sync(warehouse, settings.experiments)
    found: list[ActiveExperiment] = []
    for record in sorted(store.active(warehouse, when), key=lambda r: (r.spec.start, r.name)):
        versions: dict[str, int] = {}
        for arm in record.spec.arms:
            if arm.model is None or arm.model == "champion":
                versions[arm.name] = champion
            elif arm.model == "challenger":
                if challenger is None:
                    raise ExperimentError(
                        f"experiment {record.name!r}: arm {arm.name!r} scores with the challenger, but the registry "
                        "holds no challenger",
                        hint="mark one with `leadops models challenger REF` or pin a version number in the arm",
                    )
                versions[arm.name] = challenger
            else:
                versions[arm.name] = int(arm.model)
        found.append(ActiveExperiment(record.spec, versions))
    return found


def extra_versions(experiments: list[ActiveExperiment], scored: set[int]) -> list[int]:
    """Arm versions not scored tonight anyway (not the champion, not a shadowed challenger)."""
    wanted = {v for e in experiments for v in e.versions.values()}
    return sorted(wanted - scored)


def version_refs(source: Any, versions: list[int]) -> list[ModelRef]:
    """ModelRefs for pinned arm versions, from a model source that can look a version up (`version_ref`)."""
    if not versions:
        return []
    lookup = getattr(source, "version_ref", None)
    if lookup is None:
        from leadops.experiments.errors import ExperimentError

        raise ExperimentError(f"experiment arms pin versions {versions}, but this model source cannot load a version")
    return [lookup(v) for v in versions]


def assign_run(
    warehouse: Warehouse,
    run_id: str,
    when: datetime,
    experiments: list[ActiveExperiment],
    champion: int,
    *,
    facts: bool = False,
) -> None:
    """Log tonight's new assignments (sticky) for the run's open leads and fill each experiment's lead -> arm;
    `facts` reads each lead's account and created_at from score_run_facts (the engine's own tables, as routing)."""
    from leadops.experiments import store

    source = (
        "LEFT JOIN score_run_facts ld ON ld.run_id = l.run_id AND ld.lead_id = l.lead_id"
        if facts
        else "LEFT JOIN leads ld ON ld.lead_id = l.lead_id"
    )
    leads = warehouse.arrow(
        f"SELECT l.lead_id, ld.account_id, ld.created_at FROM score_run_leads l {source} "
        "WHERE l.run_id = ? ORDER BY l.lead_id",
        [run_id],
    )
    taken: set[str] = set()
    for exp in experiments:
        if taken:
            keep = pa.array([lead not in taken for lead in leads.column("lead_id").to_pylist()])
            leads_here = leads.filter(keep)
        else:
            leads_here = leads
        arm_versions = {name: v for name, v in exp.versions.items()}
        exp.arms = store.assign(
            warehouse, exp.spec, leads_here, at=when, source="nightly", run_id=run_id, arm_versions=arm_versions
        )
        taken |= set(exp.arms)


def _staged_ids(ids: list[str]) -> pa.Table:
    return pa.table({"lead_id": pa.array(sorted(ids), pa.string())})


def score_treatments(
    warehouse: Warehouse, run_id: str, experiments: list[ActiveExperiment], champion: int, problems: dict[int, str]
) -> list[str]:
    """Replace the champion's staged score of each lead whose arm scores with another version by that version's
    (shadow) score, its reasons cleared for that version to write (`add_arm_reasons`), and note the leads in
    `scored`. Returns warnings (an arm that could not score)."""
    warnings: list[str] = []
    for exp in experiments:
        for arm, version in exp.versions.items():
            if version == champion:
                continue
            ids = [lead for lead, a in exp.arms.items() if a == arm]
            if not ids:
                continue
            if version in problems:
                warnings.append(
                    f"experiment {exp.spec.name}: arm {arm} (v{version}) could not score tonight ({problems[version]});"
                    f" its {len(ids)} leads were scored by the champion v{champion}"
                )
                continue
            with warehouse.staged(_staged_ids(ids)) as rel:
                warehouse.execute(
                    "UPDATE score_stage SET score = sh.score, probability = sh.probability, grade = sh.grade, "
                    "raw = NULL, fit_score = NULL, engagement_score = NULL, reasons = NULL, reason_text = NULL "
                    f"FROM shadow_scores sh, {rel} x WHERE sh.run_id = score_stage.run_id "
                    "AND sh.lead_id = score_stage.lead_id AND sh.model_version = ? AND x.lead_id = score_stage.lead_id "
                    "AND score_stage.run_id = ?",
                    [version, run_id],
                )
            exp.scored.setdefault(version, []).extend(ids)
    return warnings


def add_arm_reasons(
    warehouse: Warehouse,
    experiments: list[ActiveExperiment],
    *,
    run_id: str,
    as_of: datetime,
    champion: int,
    models: dict[int, tuple[ModelRef, ScorerLike]],
    sources: Mapping[int, FeatureSource],
    champion_source: FeatureSource,
    top_n: int,
    every_lead: bool,
    kept: SalesCandidates | None = None,
) -> set[str]:
    """Reasons of each treatment lead by its arm's own version, from that version's bundle features (the Sales
    leads; every lead of the arm when the job explains every lead). Returns the leads this covers, which the
    champion's reason pass leaves alone."""
    covered: set[str] = set()
    routed = "" if every_lead else "AND s.route = 'sales' "
    for exp in experiments:
        for version, leads in exp.scored.items():
            covered |= set(leads)
            source = sources.get(version)
            # an arm whose bundle has the champion's fitted spec shares its rows (and the cache of them)
            shared = source is None or source is sources.get(champion)
            with warehouse.staged(_staged_ids(leads)) as rel:
                ids = [
                    str(r[0])
                    for r in warehouse.rows(
                        f"SELECT s.lead_id FROM lead_scores s JOIN {rel} x ON x.lead_id = s.lead_id "
                        f"WHERE s.run_id = ? {routed}ORDER BY s.lead_id",
                        [run_id],
                    )
                ]
            explain_leads(
                warehouse,
                champion_source if shared or source is None else source,
                ids,
                run_id=run_id,
                as_of=as_of,
                model=models[version],
                top_n=top_n,
                kept=kept if shared else None,
            )
    return covered


def split_capacity(total: int, weights: list[float]) -> list[int]:
    """`total` slots split by weights, largest remainder first (the parts sum to `total`)."""
    if total <= 0:
        return [0] * len(weights)
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def deal_slots(slots: list[tuple[str, str | None]], weights: list[float]) -> list[tuple[Slot, ...]]:
    """The experiment's (territory, rep) slots dealt to its arms: each arm gets its weight's share of the total
    (split_capacity) and, slot by slot, the arm furthest behind its share takes the next, so each territory's and
    rep's slots are split by the weights too (within one slot); numbered per territory for each arm."""
    caps = split_capacity(len(slots), weights)
    given = [0] * len(weights)
    dealt: list[list[Slot]] = [[] for _ in weights]
    numbers: list[dict[str, int]] = [{} for _ in weights]
    total = max(len(slots), 1)
    for j, (region, rep) in enumerate(slots):
        open_arms = [i for i in range(len(weights)) if given[i] < caps[i]]
        arm = max(open_arms, key=lambda i: (caps[i] * (j + 1) / total - given[i], -i))
        given[arm] += 1
        numbers[arm][region] = numbers[arm].get(region, 0) + 1
        dealt[arm].append(Slot(region, numbers[arm][region], rep))
    return [tuple(d) for d in dealt]


def route_arms(
    warehouse: Warehouse,
    *,
    run_id: str,
    as_of: datetime,
    previous_run: str | None,
    routing: RoutingPlan,
    experiments: list[ActiveExperiment],
    refs: dict[int, ModelRef],
    facts: bool = False,
) -> dict[str, dict[str, int]]:
    """Route each experiment's leads again per arm with the arm's policy and share of the Sales slots the
    experiment's leads took in the plain routing (call inside the run's routing transaction); `facts` as for
    route_run (the Spark engine's own tables)."""
    shares: dict[str, dict[str, int]] = {}
    per_territory = routing.business.capacity.by != "total"
    per_rep = routing.business.capacity.by == "rep"  # by region a slot has no rep (an owner's name is the lead's own)
    for exp in experiments:
        if not exp.arms:
            continue
        with warehouse.staged(_staged_ids(list(exp.arms))) as rel:
            taken = [
                (str(region), None if rep is None or not per_rep else str(rep))
                for region, rep in warehouse.rows(
                    f"SELECT s.region, s.rep FROM lead_scores s JOIN {rel} x ON x.lead_id = s.lead_id "
                    "WHERE s.run_id = ? AND s.sales_status = 'new' ORDER BY s.region, s.rep, s.score_rank",
                    [run_id],
                )
            ]
            warehouse.execute(
                f"DELETE FROM lead_scores WHERE run_id = ? AND lead_id IN (SELECT lead_id FROM {rel})", [run_id]
            )
        weights = [a.weight for a in exp.spec.arms]
        caps = split_capacity(len(taken), weights)
        dealt = deal_slots(taken, weights) if per_territory else [None] * len(caps)
        shares[exp.spec.name] = {}
        for arm, cap, slots in zip(exp.spec.arms, caps, dealt, strict=True):
            ids = [lead for lead, a in exp.arms.items() if a == arm.name]
            shares[exp.spec.name][arm.name] = cap
            if not ids:
                continue
            version = exp.versions[arm.name]
            arm_plan = _arm_plan(routing, arm.routing, cap, refs.get(version), slots)
            with warehouse.staged(_staged_ids(ids)) as rel:
                route_run(
                    warehouse,
                    run_id=run_id,
                    as_of=as_of,
                    model_version=version,
                    previous_run=previous_run,
                    routing=arm_plan,
                    only=rel,
                    count_online=False,
                    facts=facts,
                )
    return shares


def _arm_plan(
    routing: RoutingPlan, policy: str | None, capacity: int, ref: ModelRef | None, slots: tuple[Slot, ...] | None
) -> RoutingPlan:
    """The run's routing plan with the arm's policy, its model's MQL threshold and its slots: named ones (territory,
    rep) under capacity per territory or rep, else a total capacity."""
    spec = routing.spec if policy is None else routing.spec.model_copy(update={"policy": policy})
    business = routing.business.model_copy(update={"capacity": SalesCapacity(per_day=capacity, by="total")})
    threshold = None if ref is None else ref.mql_threshold
    arm = plan(spec, business, threshold, routing.sales_types)
    if business.mql_threshold is None and ref is None:
        arm = RoutingPlan(spec, business, routing.mql_threshold, routing.threshold_source, routing.sales_types)
    return arm if slots is None else replace(arm, slots=slots)
