import { randomUUID } from 'node:crypto';
import { currentUser, KlueError, log, type HandlerInput } from 'klue';
import { sendReceipt } from '../tasks/receipts.js';
import type { NewOrder, Order } from '../types/{{name}}.js';
import { products } from './products.js';

export async function createOrder({ body }: HandlerInput<NewOrder>): Promise<Order> {
  if (!products.some((p) => p.id === body.productId)) {
    throw new KlueError('INVALID_PARAMETER', `no product '${body.productId}'`, { status: 400 });
  }
  // The operation requires a token (`security` in the spec): the user is its `sub` claim.
  const user = currentUser()?.sub ?? '';
  const order = { id: randomUUID(), productId: body.productId, quantity: body.quantity, user };
  log().info({ order: order.id }, 'order created');
  // Resolves once the call is queued on Redis; a worker runs it with this request's context.
  await sendReceipt(order.id, body.quantity);
  return order;
}
