/**
 * Reading OTLP attributes: scalars only, by name. Arrays and key-value lists are never walked, so the
 * shape of what an agent sends cannot make this recurse, and nothing but the named keys is read.
 */
import { createHash } from 'node:crypto';
import type { AnyValue, KeyValue } from './otlp-decode.ts';

export type Scalar = string | number | boolean;

/** The scalar attributes of a list, last one wins; arrays and key-value lists are left out. */
export function scalars(attributes: KeyValue[] | undefined): Map<string, Scalar> {
  const out = new Map<string, Scalar>();
  for (const { key, value } of attributes ?? []) {
    const scalar = scalarOf(value);
    if (scalar !== undefined) out.set(key, scalar);
  }
  return out;
}

export function scalarOf(value: AnyValue | undefined): Scalar | undefined {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return undefined;
}

/** A short text attribute: agents send ids and names here; anything long is not one of those. */
export function text(attrs: Map<string, Scalar>, ...names: string[]): string | null {
  for (const name of names) {
    const value = attrs.get(name);
    if (value !== undefined && value !== '') return String(value).slice(0, 200);
  }
  return null;
}

/**
 * A whole, non-negative number attribute. Claude Code sends some counts as strings (`duration_ms` on
 * `tool_result`), others as integers.
 */
export function count(attrs: Map<string, Scalar>, ...names: string[]): number | null {
  for (const name of names) {
    const value = Number(attrs.get(name));
    if (attrs.has(name) && Number.isFinite(value) && value >= 0) return Math.round(value);
  }
  return null;
}

/** Dollars (a float, as agents report cost) to integer micro-dollars. */
export function usdToMicros(value: number | undefined | null): number | null {
  return value === undefined || value === null || !Number.isFinite(value) || value < 0
    ? null
    : Math.round(value * 1_000_000);
}

/** OTLP's nanoseconds since the epoch (a decimal string) as a Date, or undefined when unset or absurd. */
export function fromUnixNano(nanos: string | undefined): Date | undefined {
  if (!nanos || !/^\d{1,20}$/.test(nanos) || nanos === '0') return undefined;
  const date = new Date(Number(BigInt(nanos) / 1_000_000n));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A short, stable id for a list of parts (128 bits of SHA-256). */
export function digest(parts: unknown[]): string {
  return sha256Hex(JSON.stringify(parts)).slice(0, 32);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Attributes that hold what a person typed or a model wrote: never stored, never hashed. */
const CONTENT = /prompt|response|message|content|email|command|input|output|arguments|text/i;

/** The attribute set that names a metric's series, content left out. */
export function seriesOf(attrs: Map<string, Scalar>): string {
  const named = [...attrs].filter(([key]) => !CONTENT.test(key) || /tokens?$/.test(key));
  return digest(named.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
