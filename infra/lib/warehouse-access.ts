/**
 * IAM for the Redshift Data API, scoped to the configured cluster or workgroup and to tenant
 * database users. Facts this relies on (AWS Service Authorization Reference, redshift-data):
 * - ExecuteStatement/BatchExecuteStatement take a `cluster` or `workgroup` resource (the workgroup
 *   ARN carries the workgroup *id*, not its name);
 * - Describe/Cancel/GetStatementResult/ListStatements take no resource; the only scope is the
 *   `redshift-data:statement-owner-iam-userid` condition, pinned to the caller's own role; and
 *   ExecuteStatement on a `SessionId` is pinned by `session-owner-iam-userid` the same way. The
 *   adapter never uses another function's session or cancels its statement (a cancel goes through
 *   the job's state, which the owning function acts on), so no role needs the other's.
 * - Provisioned clusters: `DbUser` needs `redshift:GetClusterCredentials` on `dbuser:<cluster>/<user>`
 *   and `dbname:<cluster>/<db>`; we allow only users with the tenant prefix.
 * - Serverless: `DbUser` is not accepted and `redshift-serverless:GetCredentials` always maps to the
 *   caller's IAM identity (IAMR:<role>), so per-tenant users need per-tenant secrets. We allow
 *   GetSecretValue on secrets named `<tenantSecretPrefix><dbUserPrefix>*` and grant no GetCredentials.
 */
import { Annotations, Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { RedshiftTarget } from './config.js';

export interface WarehouseAccessProps {
  redshift: RedshiftTarget;
  dbUserPrefix: string;
  /** Name prefix of per-tenant secrets (serverless) and of the admin secret. */
  secretNamePrefix: string;
}

export class WarehouseAccess {
  constructor(
    private readonly scope: Construct,
    private readonly props: WarehouseAccessProps,
  ) {
    if (props.redshift.kind === 'serverless' && !props.redshift.workgroupId) {
      Annotations.of(scope).addWarningV2(
        'spectra:workgroup-id',
        'No -c workgroupId=<uuid>: Data API statements are allowed on every workgroup of this account and region. Pass the id before deploying to production.',
      );
    }
  }

  /** Name of the secret holding the admin database user (tenant provisioning). */
  get adminSecretName(): string {
    return `${this.props.secretNamePrefix}admin`;
  }

  /** The Data API target resource ARN. */
  targetArn(): string {
    const stack = Stack.of(this.scope);
    const r = this.props.redshift;
    if (r.kind === 'cluster') {
      return stack.formatArn({
        service: 'redshift',
        resource: 'cluster',
        resourceName: r.clusterId,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    }
    return stack.formatArn({
      service: 'redshift-serverless',
      resource: 'workgroup',
      resourceName: r.workgroupId ?? '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** Run statements as tenants (api and worker), each role on its own statements and sessions only. */
  grantTenantStatements(principal: iam.Role): void {
    this.grantStatements(principal);
    const r = this.props.redshift;
    if (r.kind === 'cluster') {
      principal.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'TenantDbUserCredentials',
          actions: ['redshift:GetClusterCredentials'],
          resources: [this.dbUserArn(`${this.props.dbUserPrefix}*`), this.dbNameArn()],
        }),
      );
    } else {
      principal.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'TenantDbUserSecrets',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [this.secretArn(`${this.props.secretNamePrefix}${this.props.dbUserPrefix}*`)],
        }),
      );
    }
  }

  /** Provision tenant users: the admin secret, and on Serverless, create and delete the tenants' secrets. */
  grantTenantProvisioning(principal: iam.IGrantable): void {
    const policy = principal.grantPrincipal;
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WarehouseAdminSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.secretArn(`${this.adminSecretName}-??????`)],
      }),
    );
    if (this.props.redshift.kind === 'serverless') {
      policy.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'TenantSecretLifecycle',
          actions: [
            'secretsmanager:CreateSecret',
            'secretsmanager:PutSecretValue',
            'secretsmanager:DeleteSecret',
            'secretsmanager:TagResource',
          ],
          resources: [this.secretArn(`${this.props.secretNamePrefix}${this.props.dbUserPrefix}*`)],
        }),
      );
    }
  }

  private grantStatements(role: iam.Role): void {
    const policy = role.grantPrincipal;
    // aws:userid of a Lambda function is <role id>:<function name>.
    const own = `${role.roleId}:*`;
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DataApiExecute',
        actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
        resources: [this.targetArn()],
        conditions: { StringLikeIfExists: { 'redshift-data:session-owner-iam-userid': own } },
      }),
    );
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DataApiOwnStatements',
        actions: [
          'redshift-data:DescribeStatement',
          'redshift-data:GetStatementResult',
          'redshift-data:CancelStatement',
          'redshift-data:ListStatements',
        ],
        resources: ['*'],
        conditions: { StringLike: { 'redshift-data:statement-owner-iam-userid': own } },
      }),
    );
  }

  private dbUserArn(user: string): string {
    const r = this.props.redshift as Extract<RedshiftTarget, { kind: 'cluster' }>;
    return Stack.of(this.scope).formatArn({
      service: 'redshift',
      resource: 'dbuser',
      resourceName: `${r.clusterId}/${user}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  private dbNameArn(): string {
    const r = this.props.redshift as Extract<RedshiftTarget, { kind: 'cluster' }>;
    return Stack.of(this.scope).formatArn({
      service: 'redshift',
      resource: 'dbname',
      resourceName: `${r.clusterId}/${r.database}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  private secretArn(namePattern: string): string {
    return Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: namePattern,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this.scope),
    );
  }
}
