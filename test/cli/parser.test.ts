import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliParser } from '../../cli/parser.js';

const longestLine = (text: string): number => Math.max(...text.split('\n').map((line) => line.length));

describe('command-line parser', () => {
  test('the help is wrapped when the line asks for it (--help, -h, -h among one-letter flags), and only then', async () => {
    for (const args of [['install', '--help'], ['install', '-h'], ['install', '-fh'], ['--help']]) {
      assert.ok(longestLine(await cliParser(args).getHelp()) <= 110, args.join(' '));
    }
    // yargs renders a command's help as the command starts, shown or not: unwrapped, it costs less.
    assert.ok(longestLine(await cliParser(['install', '--src-dir', '/media/usb']).getHelp()) > 110);
  });
});
