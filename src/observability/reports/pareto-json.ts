/**
 * JSON for `report pareto` and `/v1/costgate/report/pareto`. Group rows carry bigint nano-dollar sums, which
 * `JSON.stringify` refuses ("Do not know how to serialize a BigInt"); like the summary's JSON, they are written as
 * strings, with exact decimal USD beside them.
 */
import { nanosToUsd } from '../../pricing/decimal.js';
import type { ParetoResult, SummaryRow } from './summary.js';

const money = <T extends SummaryRow>(r: T) => ({
  ...r,
  costNanos: String(r.costNanos),
  baselineCostNanos: String(r.baselineCostNanos),
  savedNanos: String(r.savedNanos),
  costPer1kNanos: String(r.costPer1kNanos),
  costUsd: nanosToUsd(r.costNanos),
  baselineCostUsd: nanosToUsd(r.baselineCostNanos),
  savedUsd: nanosToUsd(r.savedNanos),
});

export function paretoJson(groups: ParetoResult, calls: { calls: number; costShareOfTop20: number; callsFor80: number }): unknown {
  return { groups: { ...groups, rows: groups.rows.map(money) }, calls };
}
