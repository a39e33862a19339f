// Copies the dashboard's static files (dashboard/) and uPlot's browser build and CSS (node_modules/uplot/dist, MIT,
// licence copied beside it) into dist/dashboard, where the gateway serves them at /dashboard/assets/*. Run by
// `npm run build` after tsc; no bundler and no CDN: the page is plain ES2020 that the browser runs as is.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const out = 'dist/dashboard';
mkdirSync(out, { recursive: true });
for (const f of readdirSync('dashboard')) copyFileSync(join('dashboard', f), join(out, f));
const uplot = dirname(require.resolve('uplot/package.json'));
for (const f of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join(uplot, 'dist', f), join(out, f));
copyFileSync(join(uplot, 'LICENSE'), join(out, 'uPlot.LICENSE'));
