import { RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { apiKeyName, PROVIDERS, usesApiKey } from '../../functions/core/providers/list.ts';
import { acknowledge } from './nag.ts';

export interface GatewaySecretsProps {
  /**
   * Length of the generated master key.
   * @default 48
   */
  readonly masterKeyLength?: number;
  /**
   * What happens to the secrets when they leave the stack. Retained: a provider key an operator put
   * and the master key every admin client holds outlive a mistaken `cdk destroy`.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The admin master key (generated) and the upstream provider keys (a JSON placeholder the operator
 * fills with `aws secretsmanager put-secret-value`). Functions read both at cold start.
 */
export class GatewaySecrets extends Construct {
  public readonly masterKey: Secret;
  public readonly providerKeys: Secret;

  constructor(scope: Construct, id: string, props: GatewaySecretsProps = {}) {
    super(scope, id);
    this.masterKey = new Secret(this, 'MasterKey', {
      description: 'Tollgate admin master key (Authorization: Bearer <value>)',
      // Secrets Manager can only generate random characters, not a fixed `sk-` prefix; the whole value
      // is the key. Operators who want a LiteLLM-style `sk-…` key put their own value.
      generateSecretString: {
        passwordLength: props.masterKeyLength ?? 48,
        excludePunctuation: true,
        includeSpace: false,
      },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.providerKeys = new Secret(this, 'ProviderKeys', {
      description: 'Upstream provider API keys as JSON; fill in the ones you use',
      // A placeholder, not a secret. CloudFormation rewrites the value only when this template text
      // changes (a keyed provider added), which resets the keys an operator has put. Bedrock has no key.
      secretObjectValue: Object.fromEntries(
        PROVIDERS.filter(usesApiKey).map((name) => [apiKeyName(name), SecretValue.unsafePlainText('')]),
      ),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    acknowledge(
      this,
      'No rotation Lambda can rotate these: provider keys are issued by third parties, and a new master key must reach every admin client, so both rotate by hand.',
      'AwsSolutions-SMG4',
    );
  }
}
