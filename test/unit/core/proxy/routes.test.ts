import { describe, expect, it } from 'vitest';
import { detectAgent, isProxyPath, matchRoute } from '../../../../functions/core/proxy/routes.ts';

describe('matchRoute', () => {
  it.each([
    ['/v1/messages', '/v1/messages', 'anthropic-messages'],
    ['/anthropic/v1/messages', '/v1/messages', 'anthropic-messages'],
    ['/v1/messages/', '/v1/messages', 'anthropic-messages'],
    ['/v1/chat/completions', '/v1/chat/completions', 'openai-chat'],
    ['/openai/v1/chat/completions', '/v1/chat/completions', 'openai-chat'],
    ['/v1/responses', '/v1/responses', 'openai-responses'],
    ['/openai/v1/responses', '/v1/responses', 'openai-responses'],
    ['/v1/messages/count_tokens', '/v1/messages/count_tokens', 'anthropic-count-tokens'],
    ['/anthropic/v1/messages/count_tokens', '/v1/messages/count_tokens', 'anthropic-count-tokens'],
    ['/v1/embeddings', '/v1/embeddings', 'openai-embeddings'],
  ])('routes %s to %s (%s)', (pathname, path, protocol) => {
    // Prepare
    const requested = pathname;

    // Act
    const route = matchRoute(requested);

    // Assess
    expect({ path: route?.path, protocol: route?.protocol.name }).toEqual({ path, protocol });
  });

  it.each([
    '/v2/messages',
    '/v1/message',
    '/anthropicx/v1/messages',
    '/anthropic',
    '/azure/v1/chat/completions',
  ])('has no metered route for %s', (pathname) => {
    // Prepare
    const requested = pathname;

    // Act
    const route = matchRoute(requested);

    // Assess
    expect(route).toBeUndefined();
  });
});

describe('isProxyPath', () => {
  it.each([
    ['/v1/models', true],
    ['/v1/messages/count_tokens', true],
    ['/anthropic/v1/messages', true],
    ['/openai/v1/embeddings', true],
    ['/key/generate', false],
    ['/v1', false],
    ['/', false],
  ])('says %s is a proxy path: %s', (pathname, expected) => {
    // Prepare
    const requested = pathname;

    // Act
    const proxied = isProxyPath(requested);

    // Assess
    expect(proxied).toBe(expected);
  });
});

describe('detectAgent', () => {
  it.each([
    ['claude-cli/2.0.14 (external, cli)', 'claude-code', '2.0.14'],
    ['claude-cli/1.0.110 (external, sdk-cli)', 'claude-code', '1.0.110'],
    ['codex_exec/0.46.0 (Debian 12.0.0; x86_64) xterm-256color (codex-exec; 0.46.0)', 'codex', '0.46.0'],
    ['codex_cli_rs/0.46.0 (Ubuntu 24.4.0; x86_64) WindowsTerminal', 'codex', '0.46.0'],
    ['OpenAI/JS 6.1.0', 'openai-sdk', '6.1.0'],
    ['OpenAI/Python 1.109.1', 'openai-sdk', '1.109.1'],
    ['Anthropic/JS 1.13.0', 'anthropic-sdk', '1.13.0'],
    ['Anthropic/Python 0.69.0', 'anthropic-sdk', '0.69.0'],
    ['KimiCLI/0.32', 'kimi-cli', '0.32'],
  ])('recognises %s as %s %s', (userAgent, agent, version) => {
    // Prepare
    const ua = userAgent;

    // Act
    const detected = detectAgent(ua);

    // Assess
    expect(detected).toEqual({ agent, version });
  });

  it.each([
    [null, 'unknown'],
    ['', 'unknown'],
    ['curl/8.5.0', 'other'],
    ['Mozilla/5.0 claude-cli/2.0.14', 'other'],
  ])('calls %j %s, without a version', (userAgent, agent) => {
    // Prepare
    const ua = userAgent;

    // Act
    const detected = detectAgent(ua);

    // Assess
    expect(detected).toEqual({ agent, version: null });
  });
});
