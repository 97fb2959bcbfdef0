/** Words that make a key (or variable, or attribute name) look like it holds a credential. */
const WORDS = new Set([
  "password",
  "passwd",
  "passphrase",
  "pwd",
  "secret",
  "token",
  "credential",
  "credentials",
  "apikey",
]);
const PAIRS = new Set(["api key", "private key", "access key", "secret key", "auth key"]);
/** Keys that name a secret instead of holding one. */
const REFERENCE_KEYS = new Set(["passwordSecret"]);

/** Every credential word and pair contains one of these: a name without any is decided by one regex test. */
const CANDIDATE = /pass|pwd|secret|token|credential|key/i;

const verdicts = new Map<string, boolean>();

/** true for names such as password, apiKey, AdminPassword, client_secret, X-Auth-Token. */
export function looksLikeCredential(name: string): boolean {
  if (!CANDIDATE.test(name)) return false;
  // Repos repeat the same few keys (name, tag, value, …) many thousand times: decide each once.
  let v = verdicts.get(name);
  if (v === undefined) {
    v = judge(name);
    if (verdicts.size < 100_000) verdicts.set(name, v);
  }
  return v;
}

function judge(name: string): boolean {
  if (REFERENCE_KEYS.has(name)) return false;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    if (WORDS.has(words[i]!)) return true;
    if (i > 0 && PAIRS.has(`${words[i - 1]} ${words[i]}`)) return true;
  }
  return false;
}
