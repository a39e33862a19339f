/** `rec[key]` only when it is the record's own entry: a client's `feature: constructor` must not find Object's. */
export function own<T>(rec: Record<string, T>, key: string | undefined): T | undefined {
  return key !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}
