import { currentUser, log } from 'klue';
import { asynctask } from 'klue/async';

/** Runs in a worker, in the context of the request that called it (its user, its request id). */
export const sendReceipt = asynctask({ attempts: 3 }, async function sendReceipt(orderId: string, quantity: number) {
  const to = currentUser()?.sub;
  log().info({ order: orderId, to }, 'receipt sent');
  return { orderId, quantity, to };
});
