import type { RequestContextKeys } from '../../../../lib/domain/iam';

import { conditionHolds } from './builders';

const ROUTER = 'arn:aws:iam::111111111111:role/bulkhead-router';

describe('string operators', () => {
  it('StringEquals is exact and case-sensitive; a missing key is false', () => {
    const c = { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } };
    expect(conditionHolds(c, { 'lambda:FunctionUrlAuthType': 'AWS_IAM' })).toBe(true);
    expect(conditionHolds(c, { 'lambda:FunctionUrlAuthType': 'aws_iam' })).toBe(false);
    expect(conditionHolds(c, {})).toBe(false);
  });

  it('StringNotEquals holds when no value matches (NOR), and on a missing key', () => {
    const c = { StringNotEquals: { 'aws:PrincipalAccount': ['111111111111', '222222222222'] } };
    expect(conditionHolds(c, { 'aws:PrincipalAccount': '333333333333' })).toBe(true);
    expect(conditionHolds(c, { 'aws:PrincipalAccount': '222222222222' })).toBe(false);
    expect(conditionHolds(c, {})).toBe(true);
  });

  it('StringEqualsIgnoreCase ignores case', () => {
    const c = { StringEqualsIgnoreCase: { 'aws:PrincipalTag/team': 'Platform' } };
    expect(conditionHolds(c, { 'aws:PrincipalTag/team': 'PLATFORM' })).toBe(true);
    expect(conditionHolds(c, { 'aws:PrincipalTag/team': 'platforms' })).toBe(false);
  });

  it('StringLike takes `*` and `?` anywhere, and `*` spans colons', () => {
    const c = { StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/bulkhead-?outer' } };
    expect(conditionHolds(c, { 'aws:PrincipalArn': ROUTER })).toBe(true);
    expect(
      conditionHolds({ StringLike: { 'aws:PrincipalArn': 'arn:*' } }, { 'aws:PrincipalArn': ROUTER }),
    ).toBe(true);
    expect(
      conditionHolds(c, { 'aws:PrincipalArn': 'arn:aws:iam::111111111111:role/bulkhead-router-2' }),
    ).toBe(false);
  });

  it('StringNotLike holds when no pattern matches, and on a missing key', () => {
    const c = { StringNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/Bulkhead-Cell-*' } };
    expect(conditionHolds(c, { 'aws:PrincipalArn': ROUTER })).toBe(true);
    expect(conditionHolds(c, { 'aws:PrincipalArn': 'arn:aws:iam::111111111111:role/Bulkhead-Cell-x' })).toBe(
      false,
    );
    expect(conditionHolds(c, {})).toBe(true);
  });

  it('context key names are not case-sensitive', () => {
    expect(
      conditionHolds(
        { StringEquals: { 'AWS:SourceAccount': '111111111111' } },
        { 'aws:sourceaccount': '111111111111' },
      ),
    ).toBe(true);
  });
});

describe('ARN operators', () => {
  it('ArnLike and ArnEquals match segment by segment: `*` does not cross a colon before the resource part', () => {
    for (const operator of ['ArnLike', 'ArnEquals']) {
      expect(
        conditionHolds(
          { [operator]: { 'aws:SourceArn': 'arn:aws:iam::*:role/bulkhead-*' } },
          { 'aws:SourceArn': ROUTER },
        ),
      ).toBe(true);
      expect(
        conditionHolds(
          { [operator]: { 'aws:SourceArn': 'arn:aws:*:role/bulkhead-router' } },
          { 'aws:SourceArn': ROUTER },
        ),
      ).toBe(false);
    }
  });

  it('ArnNotLike and ArnNotEquals hold when no pattern matches, and on a missing key', () => {
    for (const operator of ['ArnNotLike', 'ArnNotEquals']) {
      const c = { [operator]: { 'aws:SourceArn': 'arn:aws:iam::*:role/Bulkhead-Cell-*' } };
      expect(conditionHolds(c, { 'aws:SourceArn': ROUTER })).toBe(true);
      expect(conditionHolds(c, { 'aws:SourceArn': 'arn:aws:iam::1:role/Bulkhead-Cell-a' })).toBe(false);
      expect(conditionHolds(c, {})).toBe(true);
    }
  });
});

describe('Bool, Numeric and Null', () => {
  it('Bool compares true/false, written as strings or booleans on either side', () => {
    const c = { Bool: { 'aws:SecureTransport': 'false' } };
    expect(conditionHolds(c, { 'aws:SecureTransport': false })).toBe(true);
    expect(conditionHolds(c, { 'aws:SecureTransport': 'true' })).toBe(false);
    expect(
      conditionHolds(
        { Bool: { 'lambda:InvokedViaFunctionUrl': true } },
        { 'lambda:InvokedViaFunctionUrl': 'TRUE' },
      ),
    ).toBe(true);
  });

  it.each([
    ['NumericEquals', 5, [true, false, false]],
    ['NumericNotEquals', 5, [false, true, true]],
    ['NumericLessThan', 5, [false, true, false]],
    ['NumericLessThanEquals', 5, [true, true, false]],
    ['NumericGreaterThan', 5, [false, false, true]],
    ['NumericGreaterThanEquals', 5, [true, false, true]],
  ])('%s compares numbers (5, 4, 6 against %d)', (operator, limit, expected) => {
    const holds = [5, 4, '6'].map((value) =>
      conditionHolds({ [operator]: { 'dynamodb:Select': limit } }, { 'dynamodb:Select': value }),
    );
    expect(holds).toEqual(expected);
  });

  it('a numeric operator is false for a missing key', () => {
    expect(conditionHolds({ NumericLessThan: { 's3:max-keys': '10' } }, {})).toBe(false);
  });

  it('Null "true" holds when the key is absent, "false" when it is present', () => {
    expect(conditionHolds({ Null: { 'aws:TokenIssueTime': 'true' } }, {})).toBe(true);
    expect(
      conditionHolds({ Null: { 'aws:TokenIssueTime': 'true' } }, { 'aws:TokenIssueTime': '2026-01-01' }),
    ).toBe(false);
    expect(
      conditionHolds({ Null: { 'dynamodb:LeadingKeys': 'false' } }, { 'dynamodb:LeadingKeys': ['t1'] }),
    ).toBe(true);
    expect(
      conditionHolds({ Null: { 'dynamodb:LeadingKeys': 'false' } }, { 'dynamodb:LeadingKeys': [] }),
    ).toBe(false);
  });
});

describe('IfExists', () => {
  it('an absent key makes the condition true; a present key is evaluated as usual', () => {
    const c = { StringEqualsIfExists: { 'aws:SourceAccount': '111111111111' } };
    expect(conditionHolds(c, {})).toBe(true);
    expect(conditionHolds(c, { 'aws:SourceAccount': '111111111111' })).toBe(true);
    expect(conditionHolds(c, { 'aws:SourceAccount': '999999999999' })).toBe(false);
    expect(conditionHolds({ BoolIfExists: { 'aws:SecureTransport': 'false' } }, {})).toBe(true);
  });
});

describe('set qualifiers (multivalued keys)', () => {
  const leadingKeys = (values?: string[]): RequestContextKeys =>
    values === undefined ? {} : { 'dynamodb:LeadingKeys': values };

  it('ForAllValues holds when every request value matches some policy value, and when the key is absent', () => {
    const c = { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['greenleaf', 'high-noon'] } };
    expect(conditionHolds(c, leadingKeys(['greenleaf']))).toBe(true);
    expect(conditionHolds(c, leadingKeys(['greenleaf', 'high-noon']))).toBe(true);
    expect(conditionHolds(c, leadingKeys(['greenleaf', 'golden-bud']))).toBe(false);
    // "The ForAllValues set operator also returns true if there are no context keys in the request."
    expect(conditionHolds(c, leadingKeys())).toBe(true);
  });

  it('ForAllValues with a negated operator holds when no request value matches any policy value', () => {
    const c = { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } };
    expect(conditionHolds(c, { 'aws:TagKeys': ['key2:audit'] })).toBe(true);
    expect(conditionHolds(c, { 'aws:TagKeys': ['key2:audit', 'key1:hr'] })).toBe(false);
  });

  it('ForAnyValue holds when at least one request value matches, and is false when the key is absent', () => {
    const c = { 'ForAnyValue:StringLike': { 'aws:TagKeys': 'bulkhead:*' } };
    expect(conditionHolds(c, { 'aws:TagKeys': ['owner', 'bulkhead:cell'] })).toBe(true);
    expect(conditionHolds(c, { 'aws:TagKeys': ['owner'] })).toBe(false);
    expect(conditionHolds(c, {})).toBe(false);
  });

  it('a set qualifier combines with IfExists', () => {
    const c = { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': 'bulkhead:cell' } };
    expect(conditionHolds(c, {})).toBe(true);
    expect(conditionHolds(c, { 'aws:TagKeys': ['owner'] })).toBe(false);
  });
});

describe('combining', () => {
  it('multiple values for one key are ORed', () => {
    const c = { StringEquals: { 'aws:SourceAccount': ['111111111111', '222222222222'] } };
    expect(conditionHolds(c, { 'aws:SourceAccount': '222222222222' })).toBe(true);
    expect(conditionHolds(c, { 'aws:SourceAccount': '333333333333' })).toBe(false);
  });

  it('multiple keys under one operator are ANDed', () => {
    const c = {
      StringEquals: { 'kms:ViaService': 'sqs.us-east-1.amazonaws.com', 'kms:CallerAccount': '111111111111' },
    };
    expect(
      conditionHolds(c, {
        'kms:ViaService': 'sqs.us-east-1.amazonaws.com',
        'kms:CallerAccount': '111111111111',
      }),
    ).toBe(true);
    expect(
      conditionHolds(c, {
        'kms:ViaService': 'sqs.us-east-1.amazonaws.com',
        'kms:CallerAccount': '222222222222',
      }),
    ).toBe(false);
  });

  it('multiple operators in one block are ANDed', () => {
    const c = {
      Bool: { 'aws:SecureTransport': 'true' },
      ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/bulkhead-*' },
    };
    expect(conditionHolds(c, { 'aws:SecureTransport': true, 'aws:PrincipalArn': ROUTER })).toBe(true);
    expect(conditionHolds(c, { 'aws:SecureTransport': false, 'aws:PrincipalArn': ROUTER })).toBe(false);
  });
});
