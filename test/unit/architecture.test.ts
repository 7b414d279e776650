import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The module rules of .dependency-cruiser.cjs hold, and the check really looks at the code: a cruiser that cannot
 * parse TypeScript (an unsupported compiler version) reports "no violations" over zero modules.
 */
describe('architecture rules', () => {
  it('cruise every module of functions/ and cli/ and find no violation', () => {
    const out = execFileSync(
      'npx',
      ['depcruise', 'functions', 'cli', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const result = JSON.parse(out) as {
      summary: {
        totalCruised: number;
        violations: Array<{ rule: { name: string }; from: string; to: string }>;
      };
    };
    expect(result.summary.totalCruised).toBeGreaterThan(100);
    expect(result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  }, 60_000);
});
