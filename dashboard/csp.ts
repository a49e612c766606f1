/**
 * The dashboard's Content-Security-Policy, one text for the local server and CloudFront. The page holds
 * a key in the browser, so scripts and styles come only from the site, and it talks only to the site
 * and the admin API (`adminOrigin`, when that is elsewhere).
 */
export function dashboardCsp(adminOrigin?: string): string {
  return [
    "default-src 'self'",
    `connect-src 'self'${adminOrigin ? ` ${adminOrigin}` : ''}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
