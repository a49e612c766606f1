/**
 * Events as Lambda's services deliver them: function URL requests (payload format 2.0,
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads), an EventBridge
 * scheduled event, and an SNS notification built from the envelope an SQS subscription received.
 */
import { randomUUID } from 'node:crypto';

export interface UrlRequest {
  method?: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  /** `name=value` pairs: a function URL passes the Cookie header to the function as this list. */
  cookies?: string[];
  body?: unknown;
}

export function functionUrlEvent(req: UrlRequest, domain = 'abcdefghij.lambda-url.us-east-1.on.aws') {
  const method = req.method ?? (req.body === undefined ? 'GET' : 'POST');
  const body =
    req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = {
    host: domain,
    'x-forwarded-proto': 'https',
    'x-forwarded-for': '203.0.113.7',
    ...(body !== undefined && { 'content-type': 'application/json' }),
    ...Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.path,
    rawQueryString: req.query ?? '',
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: domain.split('.')[0],
      domainName: domain,
      domainPrefix: domain.split('.')[0],
      http: {
        method,
        path: req.path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: headers['user-agent'] ?? 'test',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(req.cookies?.length && { cookies: req.cookies }),
    ...(body !== undefined && { body, isBase64Encoded: false }),
  };
}

/** What EventBridge sends a rule's target on schedule (no `Input` configured). */
export function scheduledEvent(ruleArn: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [ruleArn],
    detail: {},
  };
}

/** The SNS notification envelope an SQS subscription receives (raw delivery off). */
export interface SnsEnvelope {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  Timestamp: string;
  SignatureVersion?: string;
  Signature?: string;
  SigningCertURL?: string;
  UnsubscribeURL?: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

/** The event Lambda gives a function subscribed to the topic, for the same notification. */
export function snsEvent(envelope: SnsEnvelope, subscriptionArn: string) {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: subscriptionArn,
        Sns: {
          Type: envelope.Type,
          MessageId: envelope.MessageId,
          TopicArn: envelope.TopicArn,
          Subject: envelope.Subject ?? null,
          Message: envelope.Message,
          Timestamp: envelope.Timestamp,
          SignatureVersion: envelope.SignatureVersion ?? '1',
          Signature: envelope.Signature ?? '',
          SigningCertUrl: envelope.SigningCertURL ?? '',
          UnsubscribeUrl: envelope.UnsubscribeURL ?? '',
          MessageAttributes: envelope.MessageAttributes ?? {},
        },
      },
    ],
  };
}
