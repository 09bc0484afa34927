/** Counts the Intl.Segmenter objects made from the moment this module is loaded (before string-width in the probe). */
let made = 0;
const Segmenter = Intl.Segmenter;
Object.defineProperty(Intl, 'Segmenter', {
  value: class extends Segmenter {
    constructor(...args: ConstructorParameters<typeof Segmenter>) {
      super(...args);
      made++;
    }
  },
});

export const segmentersMade = (): number => made;
