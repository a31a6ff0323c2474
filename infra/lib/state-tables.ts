/** The DynamoDB tables of table-design.ts: on demand, point-in-time recovery, TTL, streams. */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLES, type TableDesign, type TableName, TTL_ATTRIBUTE } from './table-design.js';

export type TableAccess = 'read' | 'readwrite';

const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
];
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

export class StateTables extends Construct {
  readonly tables: Record<TableName, dynamodb.Table>;

  constructor(scope: Construct, id: string, props: { prefix: string; removalPolicy: RemovalPolicy }) {
    super(scope, id);
    const tables = {} as Record<TableName, dynamodb.Table>;
    for (const [name, design] of Object.entries(TABLES) as [TableName, TableDesign][]) {
      const table = new dynamodb.Table(this, pascal(name), {
        tableName: `${props.prefix}-${design.suffix}`,
        partitionKey: { name: design.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: design.sortKey ? { name: design.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: TTL_ATTRIBUTE,
        stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
        removalPolicy: props.removalPolicy,
      });
      for (const index of design.indexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: index.sortKey ? { name: index.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      tables[name] = table;
    }
    this.tables = tables;
  }

  /** Data access to one table and its indexes; no Scan except where `scan` is asked for. */
  grant(
    principal: iam.IGrantable,
    name: TableName,
    access: TableAccess,
    opts: { scan?: boolean; actions?: string[] } = {},
  ): void {
    const table = this.tables[name];
    const actions = opts.actions ?? [
      ...READ_ACTIONS,
      ...(access === 'readwrite' ? WRITE_ACTIONS : []),
      ...(opts.scan ? ['dynamodb:Scan'] : []),
    ];
    principal.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [table.tableArn, `${table.tableArn}/index/*`],
      }),
    );
  }
}

function pascal(s: string): string {
  return `${s[0]!.toUpperCase()}${s.slice(1)}Table`;
}
