"""What changed between two versions of a table: rows added, removed and relabelled, by id."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def rows_changed(before: pa.Table, after: pa.Table) -> dict[str, int]:
    """Counts of ids only in ``after`` (``added``), only in ``before`` (``removed``) and in
    both with another ``label`` (``relabelled``; labels compared as stored, or as text when
    the two versions store them differently). Both tables hold ``id`` and, to count
    relabelled rows, ``label``; ids are unique in each (docs/developers/data-contract.md)."""
    old_ids = before["id"].cast(pa.string())
    new_ids = after["id"].cast(pa.string())
    kept = int(pc.sum(pc.is_in(new_ids, value_set=old_ids)).as_py() or 0)
    changes = {"added": after.num_rows - kept, "removed": before.num_rows - kept}
    if "label" not in before.column_names or "label" not in after.column_names:
        return changes
    old_label, new_label = before["label"], after["label"]
    if old_label.type != new_label.type:
        old_label, new_label = old_label.cast(pa.string()), new_label.cast(pa.string())
    left = pa.table({"id": old_ids, "before": old_label})
    right = pa.table({"id": new_ids, "after": new_label})
    both = left.join(right, keys="id", join_type="inner", use_threads=False)
    differ = pc.invert(pc.equal(both["before"], both["after"]).fill_null(False))
    # a label missing in one version and present in the other changed too; missing in both
    # did not
    both_null = pc.and_(pc.is_null(both["before"]), pc.is_null(both["after"]))
    relabelled = pc.and_(differ, pc.invert(both_null))
    changes["relabelled"] = int(pc.sum(relabelled).as_py() or 0)
    return changes
