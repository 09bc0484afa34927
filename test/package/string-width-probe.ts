/**
 * Bundled by test/package/bundle.test.ts the way the executable is bundled: measures each text given (a JSON array,
 * argv[2]) with string-width, and says how many Intl.Segmenter objects existed before the first text that is not
 * printable ASCII was measured, and after all of them.
 */
import { segmentersMade } from './segmenter-counter.js';
import stringWidth from 'string-width';

const texts = JSON.parse(process.argv[2]!) as string[];
const printable = (text: string) => /^[\x20-\x7e]*$/.test(text);
const widths: number[] = [];
let beforeOtherText: number | undefined;
for (const text of texts) {
  if (!printable(text)) beforeOtherText ??= segmentersMade();
  widths.push(stringWidth(text));
}
process.stdout.write(JSON.stringify({ widths, beforeOtherText, atEnd: segmentersMade() }));
