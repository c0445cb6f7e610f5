import { describe, expect, it } from 'vitest';
import { renewalDue } from '../src/shared/tokens';

describe('token renewal', () => {
  const issued = '2026-12-01T00:00:00.000Z';
  const expires = '2026-12-31T00:00:00.000Z';
  it('waits for half the lifetime', () => {
    expect(renewalDue(issued, expires, Date.parse('2026-12-15T23:59:59Z'))).toBe(false);
    expect(renewalDue(issued, expires, Date.parse('2026-12-16T00:00:00Z'))).toBe(true);
  });
  it('renews a token whose issue time is unknown, never one that does not expire', () => {
    expect(renewalDue(null, expires, Date.parse('2026-12-02T00:00:00Z'))).toBe(true);
    expect(renewalDue(issued, null, Date.parse('2027-06-01T00:00:00Z'))).toBe(false);
  });
});
