// Replaced at build time (vite.config.ts `define`) with package.json's version.
declare const __APP_VERSION__: string;
