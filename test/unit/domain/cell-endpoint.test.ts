import { cellEndpointProblem } from '../../../lib/domain/cell-endpoint';

const FLEET = {
  cells: {
    'use1-a': { region: 'us-east-1', account: '111111111111' },
    'usw2-a': { region: 'us-west-2', account: '222222222222' },
  },
};
const URL_ID = 'abcdefghijklmnopqrstuvwxyz012345';

describe('cellEndpointProblem: the router forwards only to function URLs of its fleet', () => {
  test.each([
    `https://${URL_ID}.lambda-url.us-east-1.on.aws/`,
    `https://${URL_ID}.lambda-url.us-east-1.on.aws`,
  ])('a function URL in the cell’s own region: %s', (endpoint) => {
    expect(cellEndpointProblem(FLEET, 'use1-a', endpoint)).toBeUndefined();
  });

  test.each([
    ['use1-a', 'https://attacker.example.com/', 'https://attacker.example.com/ is not a Lambda function URL'],
    ['use1-a', `http://${URL_ID}.lambda-url.us-east-1.on.aws/`, 'is not a Lambda function URL'],
    ['use1-a', `https://${URL_ID}.lambda-url.us-east-1.on.aws.evil.com/`, 'is not a Lambda function URL'],
    ['use1-a', `https://${URL_ID}.lambda-url.us-east-1.on.aws/x`, 'is not a Lambda function URL'],
    [
      'use1-a',
      `https://${URL_ID}.lambda-url.us-west-2.on.aws/`,
      'is in us-west-2, but cell use1-a is in us-east-1',
    ],
    ['nope', `https://${URL_ID}.lambda-url.us-east-1.on.aws/`, "cell nope is not in the router's fleet"],
    [
      'toString',
      `https://${URL_ID}.lambda-url.us-east-1.on.aws/`,
      "cell toString is not in the router's fleet",
    ],
    ['use1-a', 'http://127.0.0.1:9001', 'is not a Lambda function URL'],
  ])('%s → %s is refused', (cellId, endpoint, why) => {
    expect(cellEndpointProblem(FLEET, cellId, endpoint)).toContain(why);
  });

  test('loopback only on the local platform, and still only for a cell of the fleet', () => {
    const local = { ...FLEET, loopback: true };
    expect(cellEndpointProblem(local, 'use1-a', 'http://127.0.0.1:9001')).toBeUndefined();
    expect(cellEndpointProblem(local, 'nope', 'http://127.0.0.1:9001')).toContain('not in the router');
    expect(cellEndpointProblem(local, 'use1-a', 'http://10.0.0.5:9001')).toContain(
      'not a Lambda function URL',
    );
  });
});
