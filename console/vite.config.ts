import { defineConfig } from 'vitest/config';

// The console is served by the api process at /console (console/console.go);
// the built files are committed in dist/ and embedded with go:embed.
export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Swagger UI is one large chunk, loaded only by the API explorer page.
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  server: {
    // npm run dev: proxy the console session and API to a running `dev`.
    proxy: { '/console/session': 'http://localhost:8080', '/console/api': 'http://localhost:8080', '/api': 'http://localhost:8080' },
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
});
