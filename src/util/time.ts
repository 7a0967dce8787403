/** Times for display. */

/**
 * An ISO 8601 date for `ms` since the epoch, or null when there is no such date: never throws
 * (Date's toISOString throws "Invalid time value" past ±8.64e15 ms). Header times are range-checked
 * when decoded; this keeps whatever shows a time from failing on one that was not.
 */
export function isoTime(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
