/**
 * Redshift Spectra on AWS: API Gateway → Lambda authorizer → API function; DynamoDB state whose
 * jobs streams wake the worker function; S3 for results and uploads; Redshift through the Data API.
 * Environment-agnostic: synthesizes without an AWS account; account and region come from the
 * deploying credentials.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { SweepEvent } from '../../src/runtime/lambda/worker.js';
import type { SweepTask } from '../../src/worker/sweep.js';
import type { SpectraConfig } from './config.js';
import { ConsoleSite } from './console-site.js';
import { SpectraFunctions } from './functions.js';
import { Monitoring } from './monitoring.js';
import { SpectraRestApi } from './rest-api.js';
import { ResultsBucket } from './results-bucket.js';
import { StateTables } from './state-tables.js';
import { WORKER_TRIGGERS } from './table-design.js';

export interface SpectraStackProps extends StackProps {
  config: SpectraConfig;
}

export class SpectraStack extends Stack {
  readonly tables: StateTables;
  readonly bucket: ResultsBucket;
  readonly functions: SpectraFunctions;
  readonly restApi: SpectraRestApi;
  readonly workerDlq: sqs.Queue;
  readonly monitoring: Monitoring;
  readonly sweepRules: events.Rule[];

  constructor(scope: Construct, id: string, props: SpectraStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.tables = new StateTables(this, 'State', { prefix: config.prefix, removalPolicy });
    this.bucket = new ResultsBucket(this, 'Results', {
      resultTtlHours: config.resultTtlHours,
      bulkJobTtlDays: config.bulkJobTtlDays,
      corsOrigins: config.corsOrigins,
      removalPolicy,
    });

    const appSecret = config.secretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'AppSecret', config.secretArn)
      : new secretsmanager.Secret(this, 'AppSecret', {
          secretName: `${config.prefix}/app`,
          description:
            'Redshift Spectra server secrets: JSON of SPECTRA_* variables (API key pepper, JWT secret)',
          generateSecretString: {
            secretStringTemplate: '{}',
            generateStringKey: 'SPECTRA_API_KEY_PEPPER',
            passwordLength: 64,
            excludePunctuation: true,
          },
          removalPolicy,
        });

    // Redshift assumes this role for UNLOAD (writes results/) and COPY (reads uploads/); associate it
    // with the cluster or the Serverless namespace (docs/deploy-aws.md).
    const redshiftS3Role = new iam.Role(this, 'RedshiftS3Role', {
      assumedBy: new iam.CompositePrincipal(
        new iam.ServicePrincipal('redshift.amazonaws.com'),
        new iam.ServicePrincipal('redshift-serverless.amazonaws.com'),
      ),
      description: 'Redshift UNLOAD/COPY for Redshift Spectra bulk jobs',
    });
    this.bucket.grant(redshiftS3Role, { results: 'readwrite', uploads: 'read' });
    redshiftS3Role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation'],
        resources: [this.bucket.bucket.bucketArn],
      }),
    );

    this.functions = new SpectraFunctions(this, 'Functions', {
      config,
      tables: this.tables,
      bucket: this.bucket,
      appSecret,
      redshiftS3Role,
      removalPolicy,
    });

    this.workerDlq = new sqs.Queue(this, 'WorkerDlq', {
      queueName: `${config.prefix}-worker-dlq`,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    for (const trigger of WORKER_TRIGGERS) {
      this.functions.worker.addEventSource(
        new sources.DynamoEventSource(this.tables.tables[trigger.table], {
          startingPosition: lambda.StartingPosition.TRIM_HORIZON,
          batchSize: config.workerBatchSize,
          parallelizationFactor: config.workerParallelization,
          bisectBatchOnError: true,
          retryAttempts: config.workerMaxRetries,
          maxRecordAge: Duration.hours(6),
          reportBatchItemFailures: true,
          onFailure: new sources.SqsDlq(this.workerDlq),
          filters: workerFilters(trigger.attribute, trigger.value),
        }),
      );
    }

    // The worker's sweeps (src/runtime/lambda/worker.ts): leases and the jobs the stream could not
    // start every few minutes; retention, which Scans tables, more rarely.
    this.sweepRules = [
      this.sweepRule('sweep', config.sweepMinutes, ['leases', 'queue'], config.prefix),
      this.sweepRule('retention', config.retentionSweepMinutes, ['retention'], config.prefix),
    ];

    this.restApi = new SpectraRestApi(this, 'Http', {
      config,
      apiFunction: this.functions.api,
      authorizerFunction: this.functions.authorizer,
      removalPolicy,
    });

    if (String(this.node.tryGetContext('console')) === 'true')
      new ConsoleSite(this, 'Console', { api: this.restApi.api, removalPolicy });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      api: this.restApi.api,
      functions: {
        api: this.functions.api,
        authorizer: this.functions.authorizer,
        worker: this.functions.worker,
      },
      workerDlq: this.workerDlq,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.restApi.api.url });
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucket.bucketName });
    new CfnOutput(this, 'AppSecretArn', { value: appSecret.secretArn });
    new CfnOutput(this, 'RedshiftS3RoleArn', { value: redshiftS3Role.roleArn });
    new CfnOutput(this, 'WorkerDlqUrl', { value: this.workerDlq.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    for (const [name, table] of Object.entries(this.tables.tables)) {
      new CfnOutput(this, `${name}TableName`, { value: table.tableName });
    }
  }

  private sweepRule(name: string, minutes: number, tasks: SweepTask[], prefix: string): events.Rule {
    return new events.Rule(this, `${name[0]!.toUpperCase()}${name.slice(1)}Schedule`, {
      ruleName: `${prefix}-${name}`,
      description: `Redshift Spectra worker sweep: ${tasks.join(', ')}`,
      schedule: events.Schedule.rate(Duration.minutes(minutes)),
      targets: [
        new targets.LambdaFunction(this.functions.worker, {
          event: events.RuleTargetInput.fromObject({ sweep: tasks } satisfies SweepEvent),
          // A failed sweep is not retried: the next one comes in `minutes`.
          retryAttempts: 0,
          maxEventAge: Duration.minutes(Math.max(1, minutes)),
        }),
      ],
    });
  }
}

/**
 * A new item with `attribute = value`, or a change that sets it (the old image had another value).
 * TTL deletions are REMOVE events and never match.
 */
export function workerFilters(attribute: string, value: string): Record<string, unknown>[] {
  return [
    lambda.FilterCriteria.filter({
      eventName: lambda.FilterRule.isEqual('INSERT'),
      dynamodb: { NewImage: { [attribute]: { S: lambda.FilterRule.isEqual(value) } } },
    }),
    lambda.FilterCriteria.filter({
      eventName: lambda.FilterRule.isEqual('MODIFY'),
      dynamodb: {
        NewImage: { [attribute]: { S: lambda.FilterRule.isEqual(value) } },
        OldImage: { [attribute]: { S: lambda.FilterRule.notEquals(value) } },
      },
    }),
  ];
}
