/** The real services integration tests use (Postgres; Redis later), found through the environment as CI sets it. */
import pg from 'pg';

export const PG_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

let pgReachable: Promise<boolean> | undefined;

/** Whether Postgres answers at PG_URL (checked once per process). */
export function postgresUp(): Promise<boolean> {
  pgReachable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return pgReachable;
}

/**
 * Why a missing Postgres is a failure rather than a skip, or undefined (skip): COSTGATE_REQUIRE_SERVICES (CI), or a
 * DATABASE_URL set explicitly (non-empty) — whoever names a database means the tests to run against it, and a skip
 * would hide a wrong URL or a database that is down.
 */
export function postgresRequiredBecause(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.COSTGATE_REQUIRE_SERVICES) return 'COSTGATE_REQUIRE_SERVICES is set';
  if (env.DATABASE_URL) return 'DATABASE_URL is set';
  return undefined;
}

/**
 * For a test that needs Postgres: true when it is up; false (skip) when it is not — unless it is required (see
 * postgresRequiredBecause), where a missing database is a failure.
 */
export async function requirePostgres(): Promise<boolean> {
  if (await postgresUp()) return true;
  const because = postgresRequiredBecause();
  if (because) throw new Error(`postgres unreachable at ${PG_URL} (${because})`);
  return false;
}

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

let redisReachable: Promise<boolean> | undefined;

/** Whether Redis answers PING at REDIS_URL (checked once per process). */
export function redisUp(): Promise<boolean> {
  redisReachable ??= (async () => {
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  })();
  return redisReachable;
}

/** Like requirePostgres, for Redis: skip locally when it is down, fail under COSTGATE_REQUIRE_SERVICES. */
export async function requireRedis(): Promise<boolean> {
  if (await redisUp()) return true;
  if (process.env.COSTGATE_REQUIRE_SERVICES) throw new Error(`redis unreachable at ${REDIS_URL} (COSTGATE_REQUIRE_SERVICES is set)`);
  return false;
}
