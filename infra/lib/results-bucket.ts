/**
 * The results bucket: query job results under `results/`, bulk job files under `bulk/`, bulk uploads
 * under `uploads/`. Each prefix expires when the records that point to it do (`expiryDays`), so a
 * job never outlives its files by design.
 * Private (public access blocked, bucket-owner objects), encrypted, TLS only; CORS lets browsers PUT
 * to presigned upload URLs and GET presigned downloads.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BUCKET_PREFIXES } from './table-design.js';

export type BucketPrefix = keyof typeof BUCKET_PREFIXES;

/**
 * Days after which S3 deletes each prefix's objects, from the retention the functions apply
 * (S3 counts from the object's creation, rounded up to midnight UTC: never earlier than this).
 */
export function expiryDays(retention: {
  resultTtlHours: number;
  bulkJobTtlDays: number;
}): Record<BucketPrefix, number> {
  return {
    results: Math.ceil(retention.resultTtlHours / 24),
    bulk: retention.bulkJobTtlDays,
    uploads: retention.bulkJobTtlDays,
  };
}

export class ResultsBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(
    scope: Construct,
    id: string,
    props: {
      resultTtlHours: number;
      bulkJobTtlDays: number;
      corsOrigins: string[];
      removalPolicy: RemovalPolicy;
    },
  ) {
    super(scope, id);
    const destroy = props.removalPolicy === RemovalPolicy.DESTROY;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: false,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: destroy,
      lifecycleRules: [
        ...Object.entries(expiryDays(props)).map(([kind, days]) => ({
          id: `expire-${kind}`,
          prefix: BUCKET_PREFIXES[kind as BucketPrefix],
          expiration: Duration.days(days),
        })),
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
          allowedOrigins: props.corsOrigins,
          allowedHeaders: ['Content-Type', 'Content-Encoding', 'Content-Length', 'Content-MD5'],
          exposedHeaders: ['ETag', 'Content-Length', 'Content-Encoding'],
          maxAge: 3600,
        },
      ],
    });
  }

  /** Object access under the given prefixes only, plus listing restricted to them. */
  grant(principal: iam.IGrantable, access: Partial<Record<BucketPrefix, 'read' | 'readwrite'>>): void {
    const policy = principal.grantPrincipal;
    const prefixes: string[] = [];
    for (const [prefix, mode] of Object.entries(access) as [BucketPrefix, 'read' | 'readwrite'][]) {
      const p = BUCKET_PREFIXES[prefix];
      prefixes.push(p);
      policy.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions:
            mode === 'read'
              ? ['s3:GetObject']
              : ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
          resources: [this.bucket.arnForObjects(`${p}*`)],
        }),
      );
    }
    policy.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
      }),
    );
  }
}
