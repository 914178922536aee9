import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Store suites talk to real servers; keep one file per worker and give I/O some room.
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
