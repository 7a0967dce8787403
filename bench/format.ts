/** How the report, the chart and the progress lines write a number. */

/** A job's result in its unit: IOPS in thousands past 1000 ("7.7K"), MB/s whole; "-" when unmeasured. */
export function fmt(v: number, metric: string): string {
  if (!Number.isFinite(v)) return '-';
  return metric === 'IOPS' ? (v >= 1000 ? `${(v / 1000).toFixed(1)}K` : v.toFixed(0)) : v.toFixed(0);
}

/** A ratio to two decimals; "-" when either side is missing. */
export function ratio(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : '-';
}
