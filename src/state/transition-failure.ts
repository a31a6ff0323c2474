/**
 * Why a conditional transition of a job matched nothing, told the same way by every StateStore
 * adapter: the job is gone (NOT_FOUND), another worker holds it (CONFLICT), or it is in another
 * state (CONFLICT naming it). Query jobs report `status`, bulk jobs `state`.
 */
import { type ApiError, conflict, notFound } from '../domain/errors.js';
import type { TransitionGuard } from './port.js';

export type TransitionFailureKind = 'job' | 'bulk job';

export function transitionFailure<S extends string>(
  kind: TransitionFailureKind,
  current: { leaseOwner: string | null; state: S } | null,
  from: readonly S[],
  guard: TransitionGuard,
): ApiError {
  if (!current) return notFound(kind);
  const details = kind === 'job' ? { status: current.state } : { state: current.state };
  const heldByAnother =
    guard.leaseOwner !== undefined && current.leaseOwner !== guard.leaseOwner && from.includes(current.state);
  if (heldByAnother) return conflict(`the ${kind} is held by another worker`, details);
  return conflict(`${kind} is ${current.state}`, details);
}
