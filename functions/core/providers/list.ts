/**
 * The providers the gateway proxies to, and what the core needs to know about each: where its API is
 * by default and how the gateway authenticates to it. A leaf module: the configuration, the catalog,
 * routing rules and the pipeline all name providers from here.
 */
export const PROVIDERS = ['openai', 'anthropic', 'openrouter', 'moonshot', 'bedrock'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const DEFAULT_BASE_URLS: Record<ProviderName, string> = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
  openrouter: 'https://openrouter.ai/api',
  moonshot: 'https://api.moonshot.ai',
  // What the AWS SDK resolves by itself in the standard partition (`{region}` is AWS_REGION). The
  // gateway never dials it: Bedrock calls go through the SDK (see Config.bedrockEndpoint).
  bedrock: 'https://bedrock-runtime.{region}.amazonaws.com',
};

/**
 * How the gateway authenticates to each provider: with an API key of its own, or — Bedrock — by signing
 * each call (SigV4) with the function's IAM role, or the local AWS profile.
 */
const AUTH: Record<ProviderName, 'api-key' | 'aws'> = {
  openai: 'api-key',
  anthropic: 'api-key',
  openrouter: 'api-key',
  moonshot: 'api-key',
  bedrock: 'aws',
};

/** Whether the provider authenticates the gateway with an API key (the others use AWS credentials). */
export function usesApiKey(provider: ProviderName): boolean {
  return AUTH[provider] === 'api-key';
}

/**
 * The name a provider's API key goes by, wherever it is kept: the environment variable locally, the
 * field of the provider-keys secret on AWS (`{"OPENAI_API_KEY": "...", ...}`), the secret's placeholder.
 */
export function apiKeyName(provider: ProviderName): string {
  return `${provider.toUpperCase()}_API_KEY`;
}

export interface ProviderSettings {
  baseUrl: string;
  /** Absent locally when the variable is unset; on AWS filled from Secrets Manager at cold start. */
  apiKey: string | undefined;
}
