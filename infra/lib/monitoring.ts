/**
 * One dashboard and the alarms an operator is paged for: API 5xx rate, API p99 latency, Lambda
 * throttles, worker DLQ depth, failed jobs, and a stream backlog that keeps growing. Alarms notify
 * an SNS topic (email subscription when `alarmEmail` is set).
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAMES } from '../../src/runtime/lambda/metric-names.js';
import type { SpectraConfig } from './config.js';

export interface MonitoringProps {
  config: SpectraConfig;
  api: apigw.RestApi;
  functions: Record<'api' | 'authorizer' | 'worker', lambda.Function>;
  workerDlq: sqs.IQueue;
}

const FIVE_MINUTES = Duration.minutes(5);

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, api, functions } = props;
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${config.prefix} alarms`,
      enforceSSL: true,
    });
    if (config.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));

    const apiDims = { ApiName: api.restApiName, Stage: api.deploymentStage.stageName };
    const apiMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: apiDims,
        statistic,
        period: FIVE_MINUTES,
      });
    const custom = (metricName: string, service: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });

    const count = apiMetric('Count', 'Sum');
    const errors5xx = apiMetric('5XXError', 'Sum');
    const errors4xx = apiMetric('4XXError', 'Sum');
    const latencyP99 = apiMetric('Latency', 'p99');
    const latencyP50 = apiMetric('Latency', 'p50');
    const errorRate = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { errors: errors5xx, requests: count },
      label: '5xx rate (%)',
      period: FIVE_MINUTES,
    });
    const dlqDepth = props.workerDlq.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    const jobsFailed = custom(METRIC.jobsFailed, SERVICE_NAMES.worker);
    const jobsCompleted = custom(METRIC.jobsCompleted, SERVICE_NAMES.worker);
    // Runs stopped before the invocation timed out, and jobs whose invocation died (found by the sweep).
    const jobsRequeued = custom(METRIC.jobsRequeued, SERVICE_NAMES.worker);
    const leasesRecovered = custom(METRIC.leasesRecovered, SERVICE_NAMES.worker);
    const iteratorAge = functions.worker.metric('IteratorAge', {
      statistic: 'Maximum',
      period: FIVE_MINUTES,
    });

    const alarm = (
      id: string,
      description: string,
      props: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.Metric | cloudwatch.MathExpression },
    ) => {
      const a = props.metric.createAlarm(this, id, {
        alarmName: `${config.prefix}-${id}`,
        alarmDescription: description,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      a.addOkAction(new actions.SnsAction(this.topic));
      this.alarms.push(a);
      return a;
    };

    alarm('api-5xx-rate', 'More than 1% of API requests failed with 5xx over 10 minutes', {
      metric: errorRate,
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('api-p99-latency', `API p99 latency above ${config.latencyP99AlarmMs} ms over 15 minutes`, {
      metric: latencyP99,
      threshold: config.latencyP99AlarmMs,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    for (const [name, fn] of Object.entries(functions)) {
      alarm(`${name}-throttles`, `The ${name} function was throttled (concurrency limit reached)`, {
        metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }
    alarm('worker-dlq-depth', 'Stream records the worker gave up on are waiting in the DLQ', {
      metric: dlqDepth,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('jobs-failed', `More than ${config.failedJobsAlarmThreshold} jobs failed in 5 minutes`, {
      metric: jobsFailed,
      threshold: config.failedJobsAlarmThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('worker-iterator-age', 'Queued jobs wait more than 5 minutes for the worker', {
      metric: iteratorAge,
      threshold: 300_000,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    const fnMetrics = (pick: (fn: lambda.Function) => cloudwatch.IMetric) =>
      Object.values(functions).map((fn) => pick(fn));
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.prefix}-overview`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'API requests', left: [count, errors4xx, errors5xx], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'API latency (ms)', left: [latencyP50, latencyP99], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'API 5xx rate (%)', left: [errorRate], width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lambda invocations',
        left: fnMetrics((fn) => fn.metricInvocations({ period: FIVE_MINUTES })),
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda errors',
        left: fnMetrics((fn) => fn.metricErrors({ period: FIVE_MINUTES })),
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda throttles',
        left: fnMetrics((fn) => fn.metricThrottles({ period: FIVE_MINUTES })),
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda duration p99 (ms)',
        left: fnMetrics((fn) => fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' })),
        width: 6,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Jobs',
        left: [jobsCompleted, jobsFailed, jobsRequeued, leasesRecovered],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Worker stream backlog (ms)', left: [iteratorAge], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Worker DLQ depth', left: [dlqDepth], width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Cold starts',
        left: Object.entries(SERVICE_NAMES).map(
          ([name, service]) =>
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${METRICS_NAMESPACE},function_name,service} MetricName="ColdStart" service="${service}"', 'Sum', 300)`,
              label: name,
              period: FIVE_MINUTES,
            }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'API requests by tenant',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service,tenant} MetricName="${METRIC.apiRequests}"', 'Sum', 300)`,
            label: 'requests',
            period: FIVE_MINUTES,
          }),
        ],
        width: 12,
      }),
    );
  }
}
