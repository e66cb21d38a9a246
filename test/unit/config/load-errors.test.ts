/**
 * A fleet file that does not parse or throws while it loads is reported at its file:line:column with the
 * parser's own message, through the real CLI (tsx compiles TypeScript fleet files there, as in `cdk synth`).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.join(__dirname, '..', '..', '..', 'bin', 'bulkhead.js');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-errors-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function loadWithCli(name: string, text: string): Promise<{ code: number; stderr: string }> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'status', '--target', 'aws', '--config', file], (error, _out, stderr) =>
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stderr: String(stderr) }),
    );
  });
}

const cases: [string, string, string, RegExp][] = [
  [
    'a TypeScript syntax error',
    'syntax.cells.ts',
    "export default {\n  router: { account: '111111111111', region: 'us-east-1' },\n  cells: [\n    { id: 'a', wave: 0, tenants: [ }\n  ],\n};\n",
    /syntax\.cells\.ts:4:35: Unexpected "}"$/,
  ],
  [
    'a JSON syntax error',
    'syntax.json',
    '{\n  "router": { "account": "111111111111" },\n  "cells": [\n    { "id": "a" "wave": 0 }\n  ]\n}\n',
    /syntax\.json:4:17: Expected ',' or '}' after property value/,
  ],
  [
    'an error thrown while the file runs',
    'throws.cells.ts',
    "const none = undefined as unknown as { cells: string[] };\nexport default {\n  router: { account: '111111111111', region: 'us-east-1' },\n  cells: none.cells,\n};\n",
    /throws\.cells\.ts:4:15: Cannot read properties of undefined \(reading 'cells'\)$/,
  ],
];

it.each(cases)(
  '%s names the file, line and column and what the parser said',
  async (_, name, text, expected) => {
    const { code, stderr } = await loadWithCli(name, text);
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^bulkhead status: fleet file .* could not be loaded: /);
    expect(lines[0]).toMatch(expected);
  },
);
