// The design lives in src/ because the compiled package (dist/) ships it; the CDK app reads the same one.
export * from '../../src/state/dynamodb/table-design.js';
