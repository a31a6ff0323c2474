/** The column type rules, shared by both warehouse adapters (../column-types.ts). */
export * from '../column-types.js';
