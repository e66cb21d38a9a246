/**
 * A synth-time check of every stack's template against CloudFormation's size limits. It is a validation
 * plugin because a template's size is known only once CDK has written it, after the constructs (and their
 * annotations) are done: the plugin reads the written files.
 */
import * as fs from 'node:fs';

import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyViolation,
} from 'aws-cdk-lib';

import { CFN_TEMPLATE_INLINE_MAX_BYTES, CFN_TEMPLATE_S3_MAX_BYTES } from '../contracts/aws-limits';

/** The sizes that matter of one template: as written (uploaded to S3) and as JSON without white space (sent inline). */
export function templateSizes(text: string): { readonly written: number; readonly compact: number } {
  return { written: Buffer.byteLength(text), compact: Buffer.byteLength(JSON.stringify(JSON.parse(text))) };
}

/**
 * Fails `cdk synth` for a template over the 1 MB CloudFormation reads from S3 (no deploy could take it),
 * and warns for one over the 51,200 bytes of a request body: the rollback's re-anchoring sends the
 * deployed template inline (`lib/targets/release/aws/rollback.ts`), and would be refused.
 */
export class TemplateSizeCheck implements IPolicyValidationPlugin {
  readonly name = 'bulkhead-template-size';
  readonly ruleIds = ['template-s3-size', 'template-inline-size'];

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const violations: PolicyViolation[] = [];
    for (const stack of context.stackTemplates) {
      const { written, compact } = templateSizes(fs.readFileSync(stack.templatePath, 'utf8'));
      const at = [
        { constructPath: stack.stackConstructPath, locations: [], templatePath: stack.templatePath },
      ];
      if (written > CFN_TEMPLATE_S3_MAX_BYTES) {
        violations.push({
          ruleName: 'template-s3-size',
          severity: 'error',
          description:
            `the template of ${stack.stackConstructPath} is ${written} bytes, over the ` +
            `${CFN_TEMPLATE_S3_MAX_BYTES} bytes (1 MB) CloudFormation reads from S3: it cannot be deployed`,
          fix: 'split the stack, or move what grows with the fleet out of the template',
          violatingResources: at,
        });
      } else if (compact > CFN_TEMPLATE_INLINE_MAX_BYTES) {
        violations.push({
          ruleName: 'template-inline-size',
          severity: 'warning',
          description:
            `the template of ${stack.stackConstructPath} is ${compact} bytes without white space, over the ` +
            `${CFN_TEMPLATE_INLINE_MAX_BYTES} bytes CloudFormation takes inline: a rollback cannot re-anchor it`,
          violatingResources: at,
        });
      }
    }
    return { success: violations.every((v) => v.severity !== 'error'), violations };
  }
}
