import type { Product } from '../types/{{name}}.js';

export const products: Product[] = [
  { id: 'tea', name: 'Green tea', price: 4.5 },
  { id: 'mug', name: 'Mug', price: 12 },
];

export function listProducts(): Product[] {
  return products;
}
