#!/usr/bin/env node
import { buildCli } from '../dist/src/cli/main.js';
await buildCli().parseAsync(process.argv);
