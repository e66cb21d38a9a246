export const handler = async (): Promise<{ requeued: number }> => ({ requeued: 0 });
