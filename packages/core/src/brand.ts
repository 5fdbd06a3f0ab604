/** A nominal type: `Brand<number, 'Joules'>` is a number that the compiler keeps apart from other numbers. */
declare const BRAND: unique symbol
export type Brand<T, B extends string> = T & { readonly [BRAND]: B }
