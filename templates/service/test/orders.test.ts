import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testService, type TestService } from 'klue/testing';

let shop: TestService;

beforeAll(async () => {
  // The service in this folder, loaded in this process: requests through `inject`, tasks run
  // here (after the same encode, sign, verify and decode a queued task goes through).
  shop = await testService({ dir: new URL('..', import.meta.url), tasks: 'held' });
});
afterAll(() => shop.close());
beforeEach(() => shop.tasks.clear());

describe('{{name}}', () => {
  it('lists the products', async () => {
    const res = await shop.inject({ method: 'GET', url: '/products' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toContainEqual({ id: 'tea', name: 'Green tea', price: 4.5 });
  });

  it('refuses an order without a token', async () => {
    const res = await shop.inject({ method: 'POST', url: '/orders', payload: { productId: 'tea', quantity: 1 } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'AUTHORIZATION_HEADER_MISSING' });
  });

  it('takes an order and sends its receipt to the user who ordered', async () => {
    const res = await shop.inject({ method: 'POST', url: '/orders', user: 'ann', payload: { productId: 'tea', quantity: 2 } });
    expect(res.statusCode).toBe(201);
    const order = res.json<{ id: string }>();

    // Queued, not run yet: the test runs it when it drains the tasks.
    expect(shop.tasks.runs).toMatchObject([{ task: 'sendReceipt', state: 'held' }]);
    await shop.tasks.drain();
    expect(shop.tasks.runs).toMatchObject([{ task: 'sendReceipt', state: 'completed', result: { orderId: order.id, quantity: 2, to: 'ann' } }]);
  });
});
