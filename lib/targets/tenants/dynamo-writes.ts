/** DynamoDB conditional writes, as the tenants targets use them. */

/** A conditional write: true when written, false when its condition failed; any other error is thrown. */
export async function writeIf(send: Promise<unknown>): Promise<boolean> {
  try {
    await send;
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
