import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Argv } from 'yargs';
import { cliParser } from '../../cli/parser.js';

const longestLine = (text: string): number => Math.max(...text.split('\n').map((line) => line.length));

/** What the parser prints for `args` (a help, say), without exiting: as the man page renders it. */
function outputOf(parser: Argv, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    void parser.exitProcess(false).parse([...args], {}, (error: Error | undefined, _argv: unknown, output: string) => (error ? reject(error) : resolve(output)));
  });
}

/** Counts the times yargs lays out a help text for the parser (its usage instance's `help`, internal to yargs). */
function countHelpRenders(parser: Argv): () => number {
  const usage = (parser as unknown as { getInternalMethods(): { getUsageInstance(): { help(): string } } }).getInternalMethods().getUsageInstance();
  const help = usage.help;
  let renders = 0;
  usage.help = function (this: unknown) {
    renders++;
    return help.call(this);
  };
  return () => renders;
}

/** The CLI's parser with one more command, `probe`, whose handler only notes that it ran. */
function withProbe(args: readonly string[]): { parser: Argv; ran: () => boolean } {
  let ran = false;
  const parser = cliParser(args).command('probe', 'a command for this test', {}, () => void (ran = true));
  return { parser, ran: () => ran };
}

describe('command-line parser', () => {
  test('the help is wrapped to the terminal, at most 110 columns (--help, -h, -h among one-letter flags)', async () => {
    for (const args of [['install', '--help'], ['install', '-h'], ['install', '-fh'], ['--help']]) {
      const help = await outputOf(cliParser(args), args);
      assert.match(help, /--json/, args.join(' '));
      assert.ok(longestLine(help) <= 110, args.join(' '));
    }
    assert.ok(longestLine(await outputOf(cliParser(['install', '--help'], 200), ['install', '--help'])) > 110, 'a wider width is used');
  });

  test('a command starts without yargs laying out its help (it did at the start of every command); --help still shows it', async () => {
    const started = withProbe(['probe', '--json']);
    const renders = countHelpRenders(started.parser);
    await started.parser.parseAsync();
    assert.equal(started.ran(), true);
    assert.equal(renders(), 0);

    const asked = withProbe(['probe', '--help']);
    const rendersAsked = countHelpRenders(asked.parser);
    assert.match(await outputOf(asked.parser, ['probe', '--help']), /a command for this test/);
    assert.equal(asked.ran(), false);
    assert.ok(rendersAsked() >= 1);
  });
});
