/// <reference types="vitest/config" />
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };
const BACKEND = process.env.FIELDPROOF_BACKEND ?? 'http://127.0.0.1:8000';
const proxy = {
  '/api': { target: BACKEND, changeOrigin: false },
  '/socket.io': { target: BACKEND, ws: true, changeOrigin: false },
};

export default defineConfig({
  define: { __APP_VERSION__: JSON.stringify(pkg.version) },
  build: { outDir: 'dist', target: 'es2022', emptyOutDir: true },
  server: { proxy },
  preview: { proxy },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      // Registered by the app itself (src/ui/controller.ts): no inline script,
      // which the server's Content-Security-Policy (script-src 'self') forbids.
      injectRegister: false,
      manifest: {
        id: '/',
        name: 'FieldProof',
        short_name: 'FieldProof',
        description: 'Capture evidence signed on this device; 现场取证，本机签名。',
        lang: 'en',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        background_color: '#f6f8fc',
        theme_color: '#0b3d91',
        categories: ['productivity', 'utilities'],
        // "Share" into FieldProof from any app. A link (Douyin, Weibo, a browser)
        // opens the web capture form with it filled in (src/ui/web.ts); files (a
        // call recording, a video, a photo) open the import screen with them
        // chosen. The service worker (src/sw.ts) takes the POST.
        share_target: {
          action: '/share-target',
          method: 'POST',
          enctype: 'multipart/form-data',
          params: {
            title: 'share_title',
            text: 'share_text',
            url: 'share_url',
            files: [{ name: 'media', accept: ['audio/*', 'video/*', 'image/*', '.m4a', '.amr', '.mp3', '.aac', '.wav', '.3gp', '.opus', '.ogg'] }],
          },
        },
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        // The manifest and its icons are added by the plugin itself.
        globPatterns: ['**/*.{js,css,html}', 'icons/apple-touch-icon.png'],
        rollupFormat: 'es',
      },
      devOptions: { enabled: false },
    }),
  ],
  test: {
    environment: 'node',
    include: ['tests/**/*.test.ts'],
  },
});
