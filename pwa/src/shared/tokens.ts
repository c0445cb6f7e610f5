// API token lifetimes, as the app sees them (pure: shared with the tests).

/** True once half of a token's lifetime has passed (or its lifetime is unknown). */
export function renewalDue(issuedAt: string | null, expiresAt: string | null, now: number): boolean {
  if (!expiresAt) return false; // a token without expiry never needs renewing
  const end = Date.parse(expiresAt);
  const start = issuedAt ? Date.parse(issuedAt) : NaN;
  if (Number.isNaN(end)) return false;
  if (Number.isNaN(start)) return true;
  return now >= start + (end - start) / 2;
}
