// A dashboard's panels as sections: the panels above the first row, then each `row` with the
// panels under it (uncollapsed rows own the top-level panels below them; collapsed ones carry
// theirs in `panels`, as Grafana saves them). Each section lays its panels out on Grafana's
// 24-column grid, rows counted from the section's top.

/** Sorted by position, top to bottom then left to right, as Grafana reads `gridPos`. */
function byPosition(a, b) {
  return (a.gridPos?.y ?? 0) - (b.gridPos?.y ?? 0) || (a.gridPos?.x ?? 0) - (b.gridPos?.x ?? 0);
}

/**
 * [{ row: panel|null, collapsed: bool, panels: [panel…] }] of a dashboard's `panels`; old
 * dashboards' `rows` (schema before Grafana 5) are refused with a clear error.
 */
export function sections(dashboard) {
  if (!Array.isArray(dashboard.panels)) {
    if (Array.isArray(dashboard.rows)) {
      throw new Error(
        "this dashboard uses the pre-Grafana 5 `rows` schema, which is not supported by bongsu yet",
      );
    }
    return [];
  }
  const out = [{ row: null, collapsed: false, panels: [] }];
  for (const p of [...dashboard.panels].sort(byPosition)) {
    if (p.type === "row") {
      out.push({ row: p, collapsed: Boolean(p.collapsed), panels: [...(p.panels ?? [])].sort(byPosition) });
    } else {
      out[out.length - 1].panels.push(p);
    }
  }
  return out.filter((s) => s.row || s.panels.length > 0);
}

/** CSS grid placement of each panel of a section: { column, row } strings, rows from 1. */
export function placements(panels) {
  const top = Math.min(...panels.map((p) => p.gridPos?.y ?? 0));
  return panels.map((p) => {
    const { x = 0, y = 0, w = 12, h = 8 } = p.gridPos ?? {};
    const col = Math.min(Math.max(x, 0), 23);
    return {
      column: `${col + 1} / span ${Math.max(1, Math.min(w, 24 - col))}`,
      row: `${y - top + 1} / span ${Math.max(1, h)}`,
    };
  });
}
