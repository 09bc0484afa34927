#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { cliParser } from './parser.js';

// No top-level await: the self-contained binaries run this file bundled as CommonJS.
void cliParser(hideBin(process.argv)).parseAsync();
