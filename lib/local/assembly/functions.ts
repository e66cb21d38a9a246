/**
 * Functions (their bundle, handler, runtime settings and environment), their published versions and
 * `live` aliases, and what a reference to one of them invokes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { envValueOf } from './environment';
import type { AliasModel, EnvValue, InvokeTargetModel, LocalFunction, LocalVersion } from './model';
import type { CfnProperties, PropertyReader, PropertyRules } from './property-reader';
import { releaseLimitsOf } from './release-alarms';
import { getAttOf, intrinsicOf, refOf, type StackTemplate } from './stack-template';

/** A file asset of the stack's asset manifest: a bundle directory under the assembly. */
export interface FileAsset {
  readonly path: string;
  readonly packaging?: string;
}

const FUNCTION_PROPERTIES: PropertyRules = {
  accepted: [
    'Code',
    'Handler',
    'Runtime',
    'Timeout',
    'MemorySize',
    'Environment',
    'FunctionName',
    'ReservedConcurrentExecutions',
  ],
  ignored: {
    Description: 'documentation',
    Role: 'IAM is not emulated locally',
    Architectures: 'the bundle is JavaScript and runs on the local Node.js whatever the CPU',
    TracingConfig: 'X-Ray tracing is not emulated',
    LoggingConfig: 'logs go to the local platform’s output',
    Tags: 'metadata',
  },
};
const VERSION_PROPERTIES: PropertyRules = {
  accepted: ['FunctionName'],
  ignored: { Description: 'documentation', CodeSha256: 'the local version is the asset itself' },
};
const ALIAS_PROPERTIES: PropertyRules = {
  accepted: ['FunctionName', 'FunctionVersion', 'Name'],
  ignored: { Description: 'documentation' },
};
const ALIAS_UPDATE = 'UpdatePolicy.CodeDeployLambdaAliasUpdate';

/** Where the bundle of a function is, from the stack's assets: `<assembly>/asset.<hash>/`. */
export interface AssetLookup {
  /** Absolute path of the cloud assembly directory. */
  readonly dir: string;
  /** The stack's file assets by hash. */
  readonly assets: ReadonlyMap<string, FileAsset>;
}

function codeDirOf(
  r: PropertyReader,
  props: CfnProperties,
  metadataPath: unknown,
  lookup: AssetLookup,
): string {
  const code = r.object(r.required(props, 'Code'), 'Code');
  r.onlyKnown(code, 'Code', { accepted: ['S3Key'], ignored: { S3Bucket: 'the asset is read from cdk.out' } });
  const s3Key = r.string(r.required(code, 'S3Key', 'Code'), 'Code.S3Key');
  const hash = s3Key.replace(/\.zip$/, '');
  const asset: FileAsset | undefined =
    lookup.assets.get(hash) ?? (typeof metadataPath === 'string' ? { path: metadataPath } : undefined);
  if (!asset) r.fail('Code.S3Key', `${s3Key} is not an asset of this stack’s asset manifest`);
  if (asset.packaging !== undefined && asset.packaging !== 'zip') {
    r.fail('Code.S3Key', `asset ${hash} is packaged as ${asset.packaging}, not a directory`);
  }
  const codeDir = path.resolve(lookup.dir, asset.path);
  if (!fs.statSync(codeDir, { throwIfNoEntry: false })?.isDirectory()) {
    r.fail('Code.S3Key', `asset directory ${codeDir} does not exist`);
  }
  return codeDir;
}

/** `index.handler` → the handler module in the bundle and its export. */
function handlerOf(r: PropertyReader, props: CfnProperties, codeDir: string, assemblyDir: string) {
  const handler = r.string(r.required(props, 'Handler'), 'Handler');
  const dot = handler.lastIndexOf('.');
  if (dot <= 0 || dot === handler.length - 1) r.fail('Handler', `"${handler}" is not <file>.<export>`);
  const base = path.resolve(codeDir, handler.slice(0, dot));
  const handlerFile = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!handlerFile) {
    r.fail('Handler', `"${handler}": no ${path.relative(assemblyDir, base)}.js (.mjs, .cjs) in the asset`);
  }
  return { handlerFile, handlerExport: handler.slice(dot + 1) };
}

function environmentOf(template: StackTemplate, r: PropertyReader, props: CfnProperties) {
  const environment: Record<string, EnvValue> = {};
  if (props.Environment === undefined) return environment;
  const env = r.object(props.Environment, 'Environment');
  r.onlyKnown(env, 'Environment', { accepted: ['Variables'] });
  const variables = r.object(env.Variables ?? {}, 'Environment.Variables');
  for (const [name, value] of Object.entries(variables)) {
    environment[name] = envValueOf(template, r, value, `Environment.Variables.${name}`);
  }
  return environment;
}

export function modelFunctions(template: StackTemplate, lookup: AssetLookup): LocalFunction[] {
  return template.modelEach(
    'AWS::Lambda::Function',
    FUNCTION_PROPERTIES,
    (r: PropertyReader, props: CfnProperties, logicalId: string) => {
      const runtime = r.string(r.required(props, 'Runtime'), 'Runtime');
      if (!/^nodejs\d+\.x$/.test(runtime)) r.fail('Runtime', `${runtime} is not a Node.js runtime`);
      const metadataPath = template.resources[logicalId].Metadata?.['aws:asset:path'];
      const codeDir = codeDirOf(r, props, metadataPath, lookup);
      const { handlerFile, handlerExport } = handlerOf(r, props, codeDir, lookup.dir);
      const environment = environmentOf(template, r, props);
      return {
        logicalId,
        name: props.FunctionName === undefined ? logicalId : r.string(props.FunctionName, 'FunctionName'),
        codeDir,
        handlerFile,
        handlerExport,
        runtime,
        timeoutSeconds: props.Timeout === undefined ? 3 : r.integer(props.Timeout, 'Timeout', 1),
        memoryMb: props.MemorySize === undefined ? 128 : r.integer(props.MemorySize, 'MemorySize', 128),
        environment,
        ...(props.ReservedConcurrentExecutions !== undefined && {
          // 0 (every invocation throttled) is not run locally.
          reservedConcurrency: r.integer(
            props.ReservedConcurrentExecutions,
            'ReservedConcurrentExecutions',
            1,
          ),
        }),
      };
    },
  );
}

export function modelVersions(template: StackTemplate): LocalVersion[] {
  return template.modelEach(
    'AWS::Lambda::Version',
    VERSION_PROPERTIES,
    (r: PropertyReader, props: CfnProperties, logicalId: string) => ({
      logicalId,
      functionLogicalId: template.requiredFunction(r, props),
    }),
  );
}

/** The CodeDeploy hooks of an alias's `UpdatePolicy` (its presence means CodeDeploy shifts the traffic). */
function trafficHooks(template: StackTemplate, r: PropertyReader, policy: unknown) {
  const p = r.object(policy, 'UpdatePolicy');
  r.onlyKnown(p, 'UpdatePolicy', { accepted: ['CodeDeployLambdaAliasUpdate'] });
  const update = r.object(p.CodeDeployLambdaAliasUpdate, ALIAS_UPDATE);
  r.onlyKnown(update, ALIAS_UPDATE, {
    accepted: ['BeforeAllowTrafficHook', 'AfterAllowTrafficHook', 'DeploymentGroupName'],
    ignored: { ApplicationName: 'CodeDeploy' },
  });
  const hook = (key: string): string | undefined => {
    if (update[key] === undefined) return undefined;
    const fn = template.functionOf(update[key]);
    if (!fn) r.fail(`${ALIAS_UPDATE}.${key}`, 'must reference a function of this stack');
    return fn;
  };
  const pre = hook('BeforeAllowTrafficHook');
  const post = hook('AfterAllowTrafficHook');
  const group = r.required(update, 'DeploymentGroupName', ALIAS_UPDATE);
  return {
    ...(pre && { preTrafficHookLogicalId: pre }),
    ...(post && { postTrafficHookLogicalId: post }),
    releaseLimits: releaseLimitsOf(template, r, group, `${ALIAS_UPDATE}.DeploymentGroupName`),
  };
}

export function modelAliases(template: StackTemplate, versions: readonly LocalVersion[]): AliasModel[] {
  return template.modelEach(
    'AWS::Lambda::Alias',
    ALIAS_PROPERTIES,
    (r: PropertyReader, props: CfnProperties, logicalId: string): AliasModel => {
      const functionLogicalId = template.requiredFunction(r, props);
      const name = r.string(r.required(props, 'Name'), 'Name');
      if (name !== 'live') r.fail('Name', `"${name}": the local platform runs the "live" alias only`);
      const att = getAttOf(r.required(props, 'FunctionVersion'));
      const version = att && att[1] === 'Version' ? versions.find((v) => v.logicalId === att[0]) : undefined;
      if (!version || version.functionLogicalId !== functionLogicalId) {
        r.fail('FunctionVersion', `must be the Version of a published version of ${functionLogicalId}`);
      }
      const policy = template.resources[logicalId].UpdatePolicy;
      return {
        logicalId,
        name,
        functionLogicalId,
        versionLogicalId: version.logicalId,
        deploymentGroup: policy !== undefined,
        ...(policy !== undefined && trafficHooks(template, r, policy)),
      };
    },
  );
}

/** What a `FunctionName`, `Arn` or `TargetFunctionArn` invokes: a function, or one of its aliases. */
export class InvokeTargets {
  constructor(
    private readonly template: StackTemplate,
    private readonly versions: readonly LocalVersion[],
    private readonly aliases: readonly AliasModel[],
  ) {}

  targetOf(r: PropertyReader, value: unknown, at: string): InvokeTargetModel {
    const fn = this.template.functionOf(value);
    if (fn) return { functionLogicalId: fn };
    const ref = refOf(value);
    const alias = this.aliases.find((a) => a.logicalId === ref);
    if (alias) return { functionLogicalId: alias.functionLogicalId, alias: alias.name };
    const qualified = this.qualifiedArnOf(value);
    if (qualified) return this.qualified(r, at, qualified.functionLogicalId, qualified.qualifier);
    if (ref !== undefined && !this.template.isModelled(ref, 'AWS::Lambda::Function')) {
      return r.fail(
        at,
        `references ${this.template.describe(ref)}; it must be a function or an alias of this stack`,
      );
    }
    return r.fail(at, `must reference a function or an alias of this stack, got ${JSON.stringify(value)}`);
  }

  /** The alias `qualifier` of `functionLogicalId`, as a target; fails when there is none. */
  qualified(r: PropertyReader, at: string, functionLogicalId: string, qualifier: string): InvokeTargetModel {
    const alias = this.aliases.find((a) => a.functionLogicalId === functionLogicalId && a.name === qualifier);
    if (!alias) r.fail(at, `qualifier "${qualifier}" is not an alias of ${functionLogicalId}`);
    return { functionLogicalId, alias: alias.name };
  }

  /** `Fn::Join('', [<function name>, ':live'])`: a qualified ARN as CDK writes it for a rule target. */
  private qualifiedArnOf(value: unknown): { functionLogicalId: string; qualifier: string } | undefined {
    const join = intrinsicOf(value);
    if (
      join?.[0] !== 'Fn::Join' ||
      !Array.isArray(join[1]) ||
      join[1][0] !== '' ||
      !Array.isArray(join[1][1])
    ) {
      return undefined;
    }
    const [first, ...rest] = join[1][1] as unknown[];
    const functionLogicalId = this.functionNameOf(first);
    const tail = rest.every((p) => typeof p === 'string') ? rest.join('') : undefined;
    if (!functionLogicalId || !tail?.startsWith(':')) return undefined;
    return { functionLogicalId, qualifier: tail.slice(1) };
  }

  /** An expression standing for a function's name: `Ref fn`, or `Select(6, Split(':', <ARN>))`. */
  private functionNameOf(value: unknown): string | undefined {
    const ref = refOf(value);
    if (ref !== undefined) return this.template.isModelled(ref, 'AWS::Lambda::Function') ? ref : undefined;
    const select = intrinsicOf(value);
    if (select?.[0] !== 'Fn::Select' || !Array.isArray(select[1]) || Number(select[1][0]) !== 6)
      return undefined;
    const split = intrinsicOf(select[1][1]);
    if (split?.[0] !== 'Fn::Split' || !Array.isArray(split[1]) || split[1][0] !== ':') return undefined;
    const arn = split[1][1];
    const arnRef = refOf(arn);
    const alias = this.aliases.find((a) => a.logicalId === arnRef);
    if (alias) return alias.functionLogicalId;
    const version = this.versions.find((v) => v.logicalId === arnRef);
    if (version) return version.functionLogicalId;
    return this.template.functionOf(arn);
  }
}
