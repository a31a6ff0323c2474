/**
 * The console on AWS (issue 19): with `-c console=true` the stack serves dist/console from a private
 * bucket through CloudFront, with the API behind the same distribution (same origin, as on
 * `spectra serve`) and the Node server's CSP on every console response.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { configFromContext } from '../../infra/lib/config.js';
import { SpectraStack } from '../../infra/lib/spectra-stack.js';
import { CONSOLE_CSP } from '../../src/http/routes/console.js';

function synth(context: Record<string, unknown>): Template {
  const app = new App({ context: { lambdaCode: 'placeholder', ...context } });
  const config = configFromContext((k) => app.node.tryGetContext(k));
  return Template.fromStack(new SpectraStack(app, 'Spectra', { config }));
}

let withConsole: Template;
beforeAll(async () => {
  const { buildConsole } = await import('../../scripts/build-console.mjs');
  await buildConsole(undefined, { quiet: true });
  withConsole = synth({ console: 'true' });
});

describe('console site', () => {
  it('is off unless asked for', () => {
    synth({}).resourceCountIs('AWS::CloudFront::Distribution', 0);
  });

  it('routes the API paths to API Gateway uncached and everything else to the private bucket', () => {
    const [dist] = Object.values(withConsole.findResources('AWS::CloudFront::Distribution'));
    const cfg = dist!.Properties.DistributionConfig;
    const behaviors = cfg.CacheBehaviors as { PathPattern: string; AllowedMethods: string[] }[];
    expect(behaviors.map((b) => b.PathPattern)).toEqual([
      '/v1/*',
      '/metrics',
      '/openapi.json',
      '/health',
      '/ready',
      '/docs*',
    ]);
    for (const b of behaviors) expect(b.AllowedMethods).toContain('PATCH');
    expect(cfg.Origins).toHaveLength(2);
    withConsole.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      }),
    });
    withConsole.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
  });

  it('sends the same CSP as the Node server and deploys hashed bundles immutable, index.html revalidated', () => {
    withConsole.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: Match.objectLike({
          ContentSecurityPolicy: { ContentSecurityPolicy: CONSOLE_CSP, Override: true },
        }),
      }),
    });
    const deployments = Object.values(withConsole.findResources('Custom::CDKBucketDeployment'));
    const cache = deployments.map((d) => d.Properties.SystemMetadata?.['cache-control']).sort();
    expect(cache).toEqual(['no-cache', 'public, max-age=31536000, immutable']);
    for (const d of deployments) expect(d.Properties.DestinationBucketKeyPrefix).toBe('console/');
  });
});
