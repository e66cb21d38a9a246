/**
 * Reads a `cdk synth` output directory (a cloud assembly) and builds the model the local platform
 * runs (model.ts): what runs locally is exactly what deploys. The manifest is read with the CDK's own
 * cloud assembly API; each stack is modelled by stack-model.ts.
 *
 * Pure: reads files, starts nothing, calls no AWS API.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  AssetManifestArtifact,
  CloudAssembly,
  type CloudFormationStackArtifact,
  UNKNOWN_ACCOUNT,
  UNKNOWN_REGION,
} from '@aws-cdk/cloud-assembly-api';

import {
  LAMBDA_ACCOUNT_CONCURRENCY_DEFAULT,
  LAMBDA_UNRESERVED_CONCURRENCY_MIN,
} from '../../contracts/aws-limits';
import { ROUTER_STACK } from '../../contracts/names';

import type { FileAsset } from './functions';
import { AssemblyReadError, type LocalAssembly, type LocalStack } from './model';
import { modelStack } from './stack-model';
import type { CfnTemplate } from './stack-template';

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new AssemblyReadError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AssemblyReadError(`${what} ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

function openAssembly(dir: string, manifestFile: string): CloudAssembly {
  let assembly: CloudAssembly;
  try {
    // In manifest order, as the stacks were defined: the model keeps their order.
    assembly = new CloudAssembly(dir, { topoSort: false });
  } catch (error) {
    throw new AssemblyReadError(
      `cannot read cloud assembly manifest ${manifestFile}: ${(error as Error).message}`,
    );
  }
  const nested = assembly.nestedAssemblies[0];
  if (nested) {
    throw new AssemblyReadError(
      `${manifestFile}: nested cloud assembly ${nested.id} (a CDK Stage) is not supported by the local platform`,
    );
  }
  return assembly;
}

/** The file assets of a stack's asset manifests, by hash. */
function fileAssets(stack: CloudFormationStackArtifact): Map<string, FileAsset> {
  const assets = new Map<string, FileAsset>();
  for (const manifest of stack.dependencies.filter(AssetManifestArtifact.isAssetManifestArtifact)) {
    let files;
    try {
      files = manifest.contents.files ?? {};
    } catch (error) {
      throw new AssemblyReadError(`cannot read asset manifest ${manifest.file}: ${(error as Error).message}`);
    }
    for (const [hash, entry] of Object.entries(files)) {
      if (entry.source.path) assets.set(hash, { path: entry.source.path, packaging: entry.source.packaging });
    }
  }
  return assets;
}

/** CDK's `unknown-*` placeholders of an environment-agnostic stack → undefined. */
const known = (value: string, placeholder: string): string | undefined =>
  value === placeholder ? undefined : value;

function readStack(dir: string, stack: CloudFormationStackArtifact): LocalStack {
  const templateFile = stack.templateFullPath;
  return modelStack({
    stackName: stack.stackName,
    templateFile,
    template: readJson(templateFile, 'template') as CfnTemplate,
    assets: { dir, assets: fileAssets(stack) },
    stackTags: stack.tags,
    account: known(stack.environment.account, UNKNOWN_ACCOUNT),
    region: known(stack.environment.region, UNKNOWN_REGION),
  });
}

/**
 * Reads the cloud assembly in `cdkOutDir`: finds the stacks and their templates through its manifest,
 * and models each. Throws `UnsupportedResourceError` on the first resource or property the local
 * platform cannot reproduce, `AssemblyReadError` when the assembly itself is broken.
 */
export function readAssembly(cdkOutDir: string): LocalAssembly {
  const dir = path.resolve(cdkOutDir);
  const manifestFile = path.join(dir, 'manifest.json');
  const stacks = openAssembly(dir, manifestFile).stacks.map((stack) => readStack(dir, stack));
  const routers = stacks.filter((s) => s.kind === 'router');
  if (routers.length !== 1) {
    throw new AssemblyReadError(
      `${manifestFile}: expected one ${ROUTER_STACK} stack, found ${routers.length}`,
    );
  }
  const cells = stacks.filter((s) => s.kind === 'cell');
  const seen = new Set<string>();
  for (const cell of cells) {
    if (seen.has(cell.cellId!)) {
      throw new AssemblyReadError(`${manifestFile}: two stacks are tagged as cell ${cell.cellId}`);
    }
    seen.add(cell.cellId!);
  }
  reservedConcurrencyFits(manifestFile, stacks);
  return { dir, stacks, router: routers[0], cells };
}

/**
 * The local platform's account has Lambda's default concurrency quota: reservations of one account and
 * region that leave less than the minimum unreserved are refused, as Lambda refuses the deploy.
 */
function reservedConcurrencyFits(manifestFile: string, stacks: readonly LocalStack[]): void {
  const byPlace = new Map<string, { total: number; functions: string[] }>();
  for (const stack of stacks) {
    for (const fn of stack.functions) {
      if (fn.reservedConcurrency === undefined) continue;
      const place = `${stack.account ?? 'the account'} ${stack.region ?? 'us-east-1'}`;
      const entry = byPlace.get(place) ?? { total: 0, functions: [] };
      entry.total += fn.reservedConcurrency;
      entry.functions.push(`${stack.stackName}/${fn.logicalId} (${fn.reservedConcurrency})`);
      byPlace.set(place, entry);
    }
  }
  const most = LAMBDA_ACCOUNT_CONCURRENCY_DEFAULT - LAMBDA_UNRESERVED_CONCURRENCY_MIN;
  for (const [place, { total, functions }] of byPlace) {
    if (total > most) {
      throw new AssemblyReadError(
        `${manifestFile}: reserved concurrency in ${place} is ${total} (${functions.join(', ')}); Lambda ` +
          `keeps ${LAMBDA_UNRESERVED_CONCURRENCY_MIN} of the account's ${LAMBDA_ACCOUNT_CONCURRENCY_DEFAULT} ` +
          `unreserved, so at most ${most} may be reserved`,
      );
    }
  }
}
