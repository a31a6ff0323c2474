/**
 * Relation rules: system schemas and system-looking relation names are blocked at every level,
 * qualified or not (unqualified `pg_*` names resolve to pg_catalog through the search path), and
 * an explicitly named schema must be one the policy allows.
 */
import type { GuardPolicy } from './policy.js';

/** pg_catalog, pg_toast, pg_temp_N, pg_toast_temp_N, Redshift's pg_internal and pg_automv, information_schema. */
const SYSTEM_SCHEMA = /^(information_schema$|pg_)/;

/** PostgreSQL catalogs and Redshift system tables and views (STL, STV, SVL, SVV, SVCS, SYS, STCS, STLL). */
const SYSTEM_RELATION = /^(pg_|stl_|stv_|svl_|svv_|svcs_|sys_|stcs_|stll_)/;

export interface RelationRef {
  catalog?: string;
  schema?: string;
  name: string;
}

export interface RelationVerdict {
  allowed: boolean;
  reason?: string;
}

export function judgeRelation(ref: RelationRef, policy: GuardPolicy): RelationVerdict {
  if (ref.catalog !== undefined) return { allowed: false, reason: 'cross-database reference' };
  const schema = ref.schema?.toLowerCase();
  if (schema !== undefined && SYSTEM_SCHEMA.test(schema)) return { allowed: false, reason: 'system schema' };
  if (SYSTEM_RELATION.test(ref.name.toLowerCase())) return { allowed: false, reason: 'system table or view' };
  if (schema !== undefined && !policy.allowedSchemas.includes(schema)) {
    return {
      allowed: false,
      reason: `schema not allowed (allowed: ${policy.allowedSchemas.join(', ') || 'none'})`,
    };
  }
  return { allowed: true };
}

/** Casts to these types are catalog look-ups (`'pg_authid'::regclass`), not values. */
export const CATALOG_LOOKUP_TYPE =
  /^reg(class|collation|config|dictionary|namespace|oper|operator|proc|procedure|role|type)$/;
