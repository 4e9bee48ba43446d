/** Query parameters whose value is a credential (the dashboard's `login?token=`), by decoded name. */
const SECRET_PARAM = /^(?:token|access_token|id_token|jwt)$/i;

function decoded(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}

/** A request URL fit for the logs: the values of credential parameters are replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  let redacted = false;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=', 1)[0] ?? '';
      if (!SECRET_PARAM.test(decoded(name))) return pair;
      redacted = true;
      return `${name}=[REDACTED]`;
    });
  return redacted ? `${url.slice(0, q)}?${params.join('&')}` : url;
}
