/**
 * The web console on AWS (issue 19): the files `npm run build` puts in dist/console, in a private S3
 * bucket behind CloudFront, with the REST API behind the same distribution (/v1/*, /metrics,
 * /openapi.json) so the console calls it same-origin, exactly as on `spectra serve`. Hashed bundles
 * are cached for a year, index.html is revalidated, and every console response carries the same CSP
 * as the Node server. Turned on by `-c console=true` (cdk.json sets it).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_CSP } from '../../src/http/routes/console.js';

export const CONSOLE_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/console');
const API_PATHS = ['/v1/*', '/metrics', '/openapi.json', '/health', '/ready', '/docs*'];

// `/console` and `/console/` are the page itself; S3 only knows console/index.html.
const INDEX_REWRITE = `function handler(event) {
  var r = event.request;
  if (r.uri === '/console' || r.uri === '/console/') r.uri = '/console/index.html';
  return r;
}`;

export interface ConsoleSiteProps {
  api: apigw.RestApi;
  removalPolicy: RemovalPolicy;
  /** dist/console by default. */
  assetsDir?: string;
}

export class ConsoleSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    const assetsDir = props.assetsDir ?? CONSOLE_DIST;
    this.bucket = new s3.Bucket(this, 'Assets', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
    });
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), override: true },
      },
    });
    const apiOrigin = new origins.RestApiOrigin(props.api);
    const apiBehavior: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
    };
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Redshift Spectra web console and API',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        functionAssociations: [
          {
            eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
            function: new cloudfront.Function(this, 'IndexRewrite', {
              code: cloudfront.FunctionCode.fromInline(INDEX_REWRITE),
              runtime: cloudfront.FunctionRuntime.JS_2_0,
            }),
          },
        ],
      },
      additionalBehaviors: Object.fromEntries(API_PATHS.map((p) => [p, apiBehavior])),
    });

    if (existsSync(path.join(assetsDir, 'index.html'))) {
      new deploy.BucketDeployment(this, 'Bundles', {
        sources: [deploy.Source.asset(assetsDir, { exclude: ['index.html'] })],
        destinationBucket: this.bucket,
        destinationKeyPrefix: 'console/',
        cacheControl: [deploy.CacheControl.fromString('public, max-age=31536000, immutable')],
        prune: false,
      });
      new deploy.BucketDeployment(this, 'Page', {
        sources: [deploy.Source.asset(assetsDir, { exclude: ['*', '!index.html'] })],
        destinationBucket: this.bucket,
        destinationKeyPrefix: 'console/',
        cacheControl: [deploy.CacheControl.noCache()],
        distribution: this.distribution,
        distributionPaths: ['/console', '/console/', '/console/index.html'],
        prune: false,
      });
    } else {
      Annotations.of(this).addWarning(
        `${assetsDir} is missing: run \`npm run build\` before deploying the console`,
      );
    }
    new CfnOutput(this, 'ConsoleUrl', {
      value: `https://${this.distribution.distributionDomainName}/console`,
    });
  }
}
