/**
 * What the telemetry tests send and read back: the OTLP exports the real Claude Code and Codex sent
 * (test/fixtures/otlp), posted to a gateway as the agents post them, and the telemetry files the local
 * lake holds afterwards.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TelemetryRecord } from '../../functions/core/telemetry/record.ts';

const FIXTURES = new URL('../fixtures/otlp/', import.meta.url);

/** A captured export, as its bytes. */
export const otlpFixture = (name: string) => readFile(new URL(name, FIXTURES));

export function postOtlp(
  baseUrl: string,
  signal: 'logs' | 'metrics',
  body: BodyInit,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(`${baseUrl}/v1/${signal}`, { method: 'POST', headers, body });
}

export const protobufHeaders = (key: string) => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/x-protobuf',
});

export const jsonHeaders = (key: string) => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/json',
});

/** Every telemetry file of the lake under `dataDir`, as text. */
export async function telemetryFiles(dataDir: string): Promise<string[]> {
  const root = join(dataDir, 'telemetry');
  const texts: string[] = [];
  for (const day of await readdir(root).catch(() => [])) {
    for (const file of await readdir(join(root, day)))
      texts.push(await readFile(join(root, day, file), 'utf8'));
  }
  return texts;
}

/** The telemetry records of one key in the lake under `dataDir`. */
export async function telemetryOf(dataDir: string, keyId: string): Promise<TelemetryRecord[]> {
  const lines = (await telemetryFiles(dataDir)).flatMap((text) => text.split('\n').filter(Boolean));
  return lines.map((l) => JSON.parse(l) as TelemetryRecord).filter((r) => r.key_id === keyId);
}
