import { describe, expect, it } from 'vitest';
import { Registry } from '../../../src/observability/prometheus.js';

describe('the Prometheus registry', () => {
  it('renders counters, gauges and label-less defaults in the text format', async () => {
    const r = new Registry();
    const c = r.counter('app_requests_total', 'Requests.', ['route', 'status']);
    r.gauge('app_up', 'Up.');
    c.inc({ route: '/v1/jobs/:id', status: 200 });
    c.inc({ route: '/v1/jobs/:id', status: 200 }, 2);
    c.inc({ route: 'say "hi"\\\n', status: 500 });
    expect(await r.render()).toBe(
      '# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\n' +
        'app_requests_total{route="/v1/jobs/:id",status="200"} 3\n' +
        'app_requests_total{route="say \\"hi\\"\\\\\\n",status="500"} 1\n' +
        '# HELP app_up Up.\n# TYPE app_up gauge\napp_up 0\n',
    );
  });

  it('renders histograms with cumulative buckets, +Inf, sum and count', async () => {
    const r = new Registry();
    const h = r.histogram('lat_seconds', 'Latency.', ['route'], [0.1, 1]);
    for (const v of [0.05, 0.5, 0.5, 3]) h.observe({ route: 'a' }, v);
    const text = await r.render();
    expect(text).toContain('lat_seconds_bucket{route="a",le="0.1"} 1\n');
    expect(text).toContain('lat_seconds_bucket{route="a",le="1"} 3\n');
    expect(text).toContain('lat_seconds_bucket{route="a",le="+Inf"} 4\n');
    expect(text).toContain('lat_seconds_sum{route="a"} 4.05\n');
    expect(text).toContain('lat_seconds_count{route="a"} 4\n');
  });

  it('runs collectors before rendering and survives one that fails', async () => {
    const r = new Registry();
    const g = r.gauge('pool_open', 'Open.');
    r.addCollector(() => g.set(undefined, 7));
    r.addCollector(async () => {
      throw new Error('state store down');
    });
    expect(await r.render()).toContain('pool_open 7\n');
  });

  it('refuses duplicate names and counters that go down', () => {
    const r = new Registry();
    const c = r.counter('x_total', 'X.');
    expect(() => r.counter('x_total', 'again')).toThrow(/duplicate/);
    expect(() => c.inc(undefined, -1)).toThrow();
  });
});
