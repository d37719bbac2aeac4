// Secrets never reach output: account keys, SAS signatures, connection strings (docs/CONTRACT.md promise 9).

const patterns: Array<[RegExp, string]> = [
  [/(AccountKey=)[^;\s"']+/gi, '$1***'],
  [/(SharedAccessSignature=)[^;\s"']+/gi, '$1***'],
  [/([?&]sig=)[^&\s"']+/gi, '$1***'],
  [/(Authorization:?\s*"?SharedKey\s+[^:\s]+:)[^\s"']+/gi, '$1***'],
]

const known = new Set<string>()

/** Registers a secret value (a key, a SAS token) so that it is masked wherever it appears. */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 8) known.add(secret)
}

export function redact(text: string): string {
  let out = text
  for (const secret of known) out = out.split(secret).join('***')
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement)
  return out
}

/** A URL without its query string (where SAS tokens live) and without user info. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.username = ''
    parsed.password = ''
    const hadQuery = parsed.search !== ''
    parsed.search = ''
    return parsed.toString() + (hadQuery ? '?<sas>' : '')
  } catch {
    return redact(url)
  }
}
