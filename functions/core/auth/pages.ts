/** The few pages sign-in shows a person itself: plain HTML, no script, one message that says what to do. */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

export function messagePage(status: number, title: string, message: string, headers?: HeadersInit): Response {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Tollgate</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5">
<h1>${escapeHtml(title)}</h1>
<p id="sign-in-message">${escapeHtml(message)}</p>
<p><a href="/">Back to the dashboard</a></p>
</body></html>`;
  const out = new Headers(headers);
  out.set('content-type', 'text/html; charset=utf-8');
  out.set('cache-control', 'no-store');
  return new Response(body, { status, headers: out });
}
