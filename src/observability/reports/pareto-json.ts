/**
 * JSON for `report pareto` and `/v1/costgate/report/pareto`. Group rows carry bigint nano-dollar sums, which
 * `JSON.stringify` refuses ("Do not know how to serialize a BigInt"); like the summary's JSON, they are written as
 * strings, with exact decimal USD beside them.
 */
import type { ParetoResult } from './summary.js';
import { summaryRowJson } from './format.js';

export function paretoJson(groups: ParetoResult, calls: { calls: number; costShareOfTop20: number; callsFor80: number }): unknown {
  return { groups: { ...groups, rows: groups.rows.map(summaryRowJson) }, calls };
}
