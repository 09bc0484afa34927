#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { cliParser } from './parser.js';

// aklite-offline users type `help <command>`: the same as `<command> --help`.
const argv = hideBin(process.argv);
// No top-level await: the self-contained binaries run this file bundled as CommonJS.
void cliParser(argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv).parseAsync();
