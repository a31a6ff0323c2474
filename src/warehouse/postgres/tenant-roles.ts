/** TenantRoles on PostgreSQL: role DDL and the RLS probe, over an admin connection. */
import pg from 'pg';
import { ApiError } from '../../domain/errors.js';
import type { TenantRoles } from '../port.js';
import { dropTenantRole, provisionTenantRole, verifyTenantIsolation } from './tenant-role-sql.js';

export class PostgresTenantRoles implements TenantRoles {
  private readonly pool: pg.Pool;

  constructor(connection: pg.PoolConfig) {
    this.pool = new pg.Pool({ ...connection, max: 2, application_name: 'spectra-admin' });
    this.pool.on('error', () => {});
  }

  async provision(tenantId: string, dbUser: string): Promise<{ created: boolean }> {
    let created = false;
    await this.inTransaction(async (c) => {
      created = !(await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [dbUser])).rowCount;
      await provisionTenantRole(c, tenantId, dbUser);
    });
    return { created };
  }

  async verifyIsolation(tenantId: string, dbUser: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await verifyTenantIsolation(client, dbUser, tenantId);
    } catch (e) {
      throw new ApiError('INTERNAL_ERROR', `row-level security check failed for ${dbUser}`, {
        reason: (e as Error).message,
      });
    } finally {
      client.release();
    }
  }

  async drop(dbUser: string): Promise<void> {
    await this.inTransaction((c) => dropTenantRole(c, dbUser));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async inTransaction(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await fn(client);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      if (e instanceof ApiError) throw e;
      throw new ApiError('CONFLICT', (e as Error).message);
    } finally {
      client.release();
    }
  }
}
