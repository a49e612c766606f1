import { anthropicCountTokens, anthropicMessages } from '../protocols/anthropic-messages.ts';
import { openaiChat } from '../protocols/openai-chat.ts';
import { openaiEmbeddings } from '../protocols/openai-embeddings.ts';
import { openaiResponses } from '../protocols/openai-responses.ts';
import type { Protocol } from '../protocols/types.ts';

/** Paths the proxy serves; each also answers under the `/anthropic` and `/openai` prefixes. */
const ROUTES: Record<string, Protocol> = {
  '/v1/messages': anthropicMessages,
  '/v1/messages/count_tokens': anthropicCountTokens,
  '/v1/chat/completions': openaiChat,
  '/v1/responses': openaiResponses,
  '/v1/embeddings': openaiEmbeddings,
};

const PREFIX = /^\/(?:anthropic|openai)(?=\/)/;

export function matchRoute(pathname: string): { path: string; protocol: Protocol } | undefined {
  const path = pathname.replace(PREFIX, '').replace(/\/+$/, '');
  const protocol = ROUTES[path];
  return protocol ? { path, protocol } : undefined;
}

export function isProxyPath(pathname: string): boolean {
  return /^\/(?:v1|anthropic|openai)\//.test(pathname);
}

export interface Agent {
  agent: string;
  version: string | null;
}

const AGENTS: Array<[RegExp, string]> = [
  [/^claude-cli\/(\S+)/, 'claude-code'],
  [/^codex_[a-z_]+\/(\S+)/, 'codex'],
  [/^kimi[-_]?cli\/(\S+)/i, 'kimi-cli'],
  [/^GeminiCLI\/(\S+)/, 'gemini-cli'],
  [/^Cursor\/(\S+)/i, 'cursor'],
  [/^OpenAI\/JS (\S+)/, 'openai-sdk'],
  [/^OpenAI\/Python (\S+)/, 'openai-sdk'],
  [/^Anthropic\/JS (\S+)/, 'anthropic-sdk'],
  [/^Anthropic\/Python (\S+)/, 'anthropic-sdk'],
];

/** Which agent sent the request, from its user-agent (what the real CLIs and SDKs send). */
export function detectAgent(userAgent: string | null): Agent {
  if (!userAgent) return { agent: 'unknown', version: null };
  for (const [pattern, agent] of AGENTS) {
    const m = pattern.exec(userAgent);
    if (m) return { agent, version: m[1] ?? null };
  }
  return { agent: 'other', version: null };
}
