import { ApiPool, currentUser, log, type ApiEntry } from 'klue';
import { asynctask } from 'klue/async';

interface Hello {
  message: string;
}

/** A helloworld operation through its client: `/hello/with/auth` is `getHelloWithAuth` (no operationId in its spec). */
function helloworld(operation: 'getHelloWithAuth' | 'getAsync'): Promise<Hello> {
  // types/helloworld.ts (written by klue start) types the client; this example does not rely on it.
  const method = (ApiPool as Record<string, ApiEntry | undefined>).helloworld?.client[operation];
  if (!method) throw new Error(`helloworld has no operation ${operation}`);
  return method() as Promise<Hello>;
}

export async function greet() {
  // As the user who called /greet: the client sends their token, and this request's id.
  const hello = await helloworld('getHelloWithAuth');
  const started = await helloworld('getAsync');
  return { message: `helloworld said '${hello.message}' to ${currentUser()?.sub}, and /async said '${started.message}'` };
}

/** Runs in the caller's worker, as the user whose request queued it. */
export const greetLater = asynctask(async function greetLater() {
  const hello = await helloworld('getHelloWithAuth');
  log().info({ said: hello.message }, 'helloworld answered the task');
});

export async function greet_later() {
  const handle = await greetLater();
  return { message: `queued job ${handle.id}` };
}
