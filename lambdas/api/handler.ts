import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'x-bulkhead-cell': process.env.CELL_ID ?? '' },
  body: JSON.stringify(body),
});

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  if (event.requestContext.http.method === 'GET' && event.rawPath === '/health') {
    return json(200, {
      cell: process.env.CELL_ID,
      release: process.env.RELEASE,
      version: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    });
  }
  return json(404, { error: 'not_found', details: `${event.rawPath} is not a route` });
};
