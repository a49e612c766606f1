/**
 * `tollgate agent-setup --key sk-…`: what a person pastes so their agents are governed and measured at
 * once — Claude Code's settings `env` block (base URL, token, telemetry) and Codex's config.toml
 * (provider and `[otel]`), both pointed at this gateway with their key.
 */

/** The settings and config for `url` (the gateway, no trailing slash) and a person's `key`. */
export function agentSetupText(url: string, key: string): string {
  const claude = {
    env: {
      ANTHROPIC_BASE_URL: url,
      ANTHROPIC_AUTH_TOKEN: key,
      CLAUDE_CODE_ENABLE_TELEMETRY: '1',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer ${key}`,
    },
  };
  const exporter = (path: string) =>
    `{ otlp-http = { endpoint = ${toml(`${url}${path}`)}, protocol = "binary", headers = { "Authorization" = ${toml(`Bearer ${key}`)} } } }`;
  const codex = [
    'model_provider = "tollgate"',
    '',
    '[model_providers.tollgate]',
    'name = "Tollgate"',
    `base_url = ${toml(`${url}/v1`)}`,
    'env_key = "TOLLGATE_API_KEY"',
    'wire_api = "responses"',
    '',
    '[otel]',
    `exporter = ${exporter('/v1/logs')}`,
    `metrics_exporter = ${exporter('/v1/metrics')}`,
  ].join('\n');
  return [
    '# Claude Code: merge into ~/.claude/settings.json (or managed-settings.json for everyone)',
    JSON.stringify(claude, null, 2),
    '',
    '# Codex: add to ~/.codex/config.toml, then: export TOLLGATE_API_KEY=<your key>',
    codex,
    '',
    '# Collected: sessions, active time, lines, commits, pull requests, edit decisions, model calls.',
    '# Never stored: prompt or answer text, commands, file paths, e-mail addresses.',
    '',
  ].join('\n');
}

/** A TOML basic string. */
function toml(value: string): string {
  return JSON.stringify(value);
}
