/** Who is calling, as the shell knows it: never from a header the caller could set on its own. */
export interface ClientInfo {
  /** The socket's address locally; on AWS the viewer's, as CloudFront saw it (lambda/shell/function-url.ts). */
  address: string | undefined;
}
