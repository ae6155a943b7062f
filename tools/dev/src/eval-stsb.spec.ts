import { existsSync } from 'node:fs';
import { DEFAULT_STSB, evalStsb } from './eval-stsb';

describe('STS-B dev quality (../shared/data/stsb/sts-dev.csv)', () => {
  it('use-lite@1 reaches Spearman ≥ 0.78, and use-lite-int8@1 stays within 0.01 of it', async () => {
    if (!existsSync(DEFAULT_STSB)) {
      throw new Error(
        `STS-B dev file is absent at ${DEFAULT_STSB}: check out shared/ beside the repository to run the quality gate.`,
      );
    }
    const fp32 = await evalStsb(DEFAULT_STSB, 'use-lite@1');
    const int8 = await evalStsb(DEFAULT_STSB, 'use-lite-int8@1');
    process.stdout.write(`${JSON.stringify({ fp32, int8 })}\n`);
    expect(fp32.pairs).toBe(1500);
    expect(fp32.spearman).toBeGreaterThanOrEqual(0.78);
    expect(Math.abs(int8.spearman - fp32.spearman)).toBeLessThanOrEqual(0.01);
  }, 120_000);

  it('says clearly when the file is absent', async () => {
    await expect(evalStsb('/nonexistent/sts-dev.csv', 'use-lite@1')).rejects.toThrow(
      /STS-B file not found: \/nonexistent\/sts-dev.csv/,
    );
  });
});
