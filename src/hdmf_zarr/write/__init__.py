"""Write side: builder tree -> plan -> store.

Layer: write. The IO façade plans a builder tree with :func:`plan_tree` and runs the plan with
:func:`write_plan`, once per public write (the peer's single-node methods plan one node).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from zarr.abc.store import Store
from zarr.core.group import GroupMetadata

from hdmf_zarr import _format as fmt
from hdmf_zarr import dtypes, paths
from hdmf_zarr.parallel import ParallelOptions
from hdmf_zarr.write.execute import NodeMetadata, consolidate, run_plan
from hdmf_zarr.write.plan import ArrayPlan, DataKind, GroupPlan, PlanContext, WritePlan, dtype_attr, plan_tree

__all__ = ["ParallelOptions", "PlanContext", "WriteResult", "plan_tree", "write_plan"]


@dataclass(slots=True)
class WriteResult:
    """What one write changed: every node's metadata after the write, and the root metadata."""

    members: dict[str, NodeMetadata]
    root: GroupMetadata


def add_spec_cache(
    plan: WritePlan,
    documents: Mapping[tuple[str, str], Mapping[str, str]],
    ctx: PlanContext,
    known: Mapping[str, NodeMetadata],
) -> None:
    """Add the namespaces not yet cached to *plan* (docs/format.md#specification-cache)."""
    base = paths.join(paths.ROOT, fmt.SPEC_GROUP)
    for (namespace, version), docs in documents.items():
        version_path = paths.join(paths.join(base, namespace), version)
        if version_path in known:
            continue
        for name, text in docs.items():
            plan.arrays.append(_spec_document(paths.join(version_path, name), text, ctx))
        for group_path in (base, paths.parent(version_path), version_path):
            if group_path not in known and all(g.path != group_path for g in plan.groups):
                plan.groups.append(GroupPlan(group_path, {}))


def _spec_document(path: str, text: str, ctx: PlanContext) -> ArrayPlan:
    """One cached spec document: a 0-d text array, one zstd chunk (v3); a shape-[1] text array (v2)."""
    if ctx.zarr_format == 2:
        value = np.asarray([text], dtype=object)
        options: dict[str, Any] = {"chunks": (1,), "compressors": None, "fill_value": ""}
        attrs = {dtype_attr(ctx): fmt.DTYPE_SCALAR_V2}
        return ArrayPlan(path, (1,), str, dtypes.TEXT, attrs, DataKind.VALUES, value, options)
    # One compressed chunk, an empty fill value: the text is stored once (not in the node document and
    # again in the consolidated block) and compressed, as hdmf-zarr 0.14 stores it.
    options = {"chunks": (), "compressors": "auto", "fill_value": ""}
    value = np.asarray(text, dtype=object)
    return ArrayPlan(path, (), str, dtypes.TEXT, {}, DataKind.VALUES, value, options)


def write_plan(  # noqa: PLR0913 (keyword-only execution options: consolidated, parallel)
    store: Store,
    plan: WritePlan,
    ctx: PlanContext,
    *,
    known: Mapping[str, NodeMetadata],
    root_meta: GroupMetadata,
    specs: Mapping[tuple[str, str], Mapping[str, str]] | None,
    consolidated: bool = True,
    parallel: ParallelOptions | None = None,
) -> WriteResult:
    """Execute *plan* (plus the spec cache and its links) and consolidate once (or write the root alone)."""
    if specs:
        add_spec_cache(plan, specs, ctx, known)
    for group in plan.groups:
        if group.path == paths.ROOT and specs:
            group.attributes[fmt.SPECLOC_ATTR] = fmt.SPEC_GROUP
    for parent, records in plan.links.items():
        _add_links(plan, parent, records, ctx, known)
    written = run_plan(store, plan, zarr_format=ctx.zarr_format, known=known, parallel=parallel)
    del plan  # its node records (about 3 KiB a series) are not needed by consolidation, the write's peak
    members = dict(known)
    members.update(written)
    new_root = written.get(paths.ROOT, root_meta)
    if not isinstance(new_root, GroupMetadata):
        new_root = root_meta
    if specs and fmt.SPECLOC_ATTR not in new_root.attributes:
        new_root = GroupMetadata(
            attributes={**new_root.attributes, fmt.SPECLOC_ATTR: fmt.SPEC_GROUP}, zarr_format=ctx.zarr_format
        )
    final_root = consolidate(store, new_root, members, zarr_format=ctx.zarr_format, consolidated=consolidated)
    return WriteResult(members=members, root=final_root)


def _add_links(
    plan: WritePlan,
    parent: str,
    records: list[fmt.LinkRecord],
    ctx: PlanContext,
    known: Mapping[str, NodeMetadata],
) -> None:
    from hdmf_zarr.write.plan import links_attr

    key = links_attr(ctx)
    group = next((g for g in plan.groups if g.path == parent), None)
    if group is None:
        old = known.get(parent)
        group = GroupPlan(parent, dict(old.attributes) if old is not None else {}, exists=old is not None)
        plan.groups.append(group)
    existing = {r["name"]: r for r in group.attributes.get(key, [])}
    existing.update({r.name: r.to_json() for r in records})
    group.attributes[key] = list(existing.values())
