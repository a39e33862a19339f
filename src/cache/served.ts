/** Which cache statuses mean "answered from the response cache" (no upstream call, priced at $0, no tokens used). */
export const SERVED_FROM_CACHE = ['exact', 'semantic', 'dedup'] as const;

const SERVED = new Set<string>(SERVED_FROM_CACHE);

export const servedFromCache = (cacheStatus: string | null | undefined): boolean => cacheStatus !== undefined && cacheStatus !== null && SERVED.has(cacheStatus);
