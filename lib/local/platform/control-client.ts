/** Calling a running local platform's control API (`POST /control/<action>`) from another process. */
import type { PlatformState } from './platform-state';

/** The action's JSON answer; throws with the platform's reason when it refuses, or when it does not answer. */
export async function controlCall<T>(
  state: Pick<PlatformState, 'control'>,
  action: string,
  body: Record<string, unknown>,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${state.control}/control/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(
      `the local platform's control API (${state.control}) did not answer: ${(err as Error).message}`,
    );
  }
  const out = (await res.json()) as T & { details?: string };
  if (!res.ok) throw new Error(out.details ?? `${action}: HTTP ${res.status}`);
  return out;
}
