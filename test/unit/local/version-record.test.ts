import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { VersionRecord } from '../../../lib/local/codedeploy/version-record';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-versions-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const saved = (cell: string, fn: string) =>
  (
    JSON.parse(fs.readFileSync(path.join(home, 'versions.json'), 'utf8')) as Record<
      string,
      Record<string, { lineage: string[]; versions: Record<string, unknown> }>
    >
  )[cell][fn];

const build = (n: number) => ({ assembly: path.join(home, 'builds', `b${n}`), env: { RELEASE: `r${n}` } });

test('a rollback and the roll forward after it keep the build of the version rolled forward to', () => {
  const record = VersionRecord.in(home);
  record.published('cell-a', 'Api', '2', build(2));
  record.lineage('cell-a', 'Api', ['1', '2']);
  record.lineage('cell-a', 'Api', ['1']);
  record.lineage('cell-a', 'Api', ['1', '2']);
  expect(saved('cell-a', 'Api')).toEqual({
    lineage: ['1', '2'],
    versions: { '2': build(2) },
    highest: 2,
  });
});

test('builds older than the last three live versions are let go; a new record reads what was saved', () => {
  const record = VersionRecord.in(home);
  for (const n of [2, 3, 4, 5]) record.published('cell-a', 'Api', String(n), build(n));
  record.lineage('cell-a', 'Api', ['1', '2', '3', '4', '5']);
  expect(Object.keys(saved('cell-a', 'Api').versions)).toEqual(['3', '4', '5']);
  const again = VersionRecord.in(home);
  again.published('cell-a', 'Api', '6', build(6));
  expect(saved('cell-a', 'Api')).toMatchObject({ lineage: ['3', '4', '5'], highest: 6 });
  expect(Object.keys(saved('cell-a', 'Api').versions)).toEqual(['3', '4', '5', '6']);
});
