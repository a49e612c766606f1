/**
 * A value made on its first use, once (a failed attempt is tried again next time). For the SDK clients
 * a cold start need not load: the proxy calls S3, SNS and Bedrock only on a spill, an alert or a
 * Bedrock model, and importing their packages up front cost about half its init.
 */
export function onFirstUse<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make().catch((err: unknown) => {
      made = undefined;
      throw err;
    });
    return made;
  };
}
