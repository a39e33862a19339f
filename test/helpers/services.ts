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
 * For a test that needs Postgres: true when it is up; false (skip) when it is not — unless COSTGATE_REQUIRE_SERVICES
 * is set (CI), where a missing database is a failure.
 */
export async function requirePostgres(): Promise<boolean> {
  if (await postgresUp()) return true;
  if (process.env.COSTGATE_REQUIRE_SERVICES) throw new Error(`postgres unreachable at ${PG_URL} (COSTGATE_REQUIRE_SERVICES is set)`);
  return false;
}
