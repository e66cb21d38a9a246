import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

/** Runs the CDK app the way `cdk synth` does: context in CDK_CONTEXT_JSON, output dir in CDK_OUTDIR. */
function synth(context: Record<string, string>, outdir: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
    cwd: ROOT,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const STACK_FRAME = /^\s+at /m;

describe('the CDK app on bad input', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-synth-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a broken fleet file: non-zero exit, every problem by path, no stack trace', () => {
    const file = path.join(dir, 'broken.config.ts');
    fs.writeFileSync(
      file,
      [
        "const compliance = (ratePerSecond: number) => ({ baseUrl: 'https://api.example.com', ratePerSecond });",
        'export default {',
        "  defaults: { account: '111111111111', region: 'us-east-1' },",
        '  cells: [',
        // Three mistakes: a bad cell id, a helper passed instead of called, a truncated region.
        "    { id: 'Use1_A', wave: 0, maxTenants: 5, tenants: [{ id: 'alpha', integration: compliance }] },",
        "    { id: 'use1-b', wave: 1, maxTenants: 5, region: 'us-east', tenants: ['bravo'] },",
        '  ],',
        '};',
        '',
      ].join('\n'),
    );
    const result = synth({ config: file }, path.join(dir, 'out-fleet'));
    expect(result.error).toBeUndefined();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('3 problems in the fleet');
    for (const p of ['cells[0].id', 'cells[0].tenants[0].integration', 'cells[1].region']) {
      expect(result.stderr).toContain(`  - ${p}: received `);
    }
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  test('an unknown cell in -c cells: non-zero exit, a one-line reason', () => {
    const result = synth({ cells: 'euw1-z' }, path.join(dir, 'out-cells'));
    expect(result.error).toBeUndefined();
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toEqual([
      'bulkhead: -c cells: unknown cell euw1-z; the fleet has use1-a, use1-b, usw2-a',
    ]);
  });
});
