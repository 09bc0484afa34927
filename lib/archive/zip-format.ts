/** The zip records both the reader (lib/medium/zip-medium.ts) and the writer (lib/bundle/zip-writer.ts) know, by their signatures (APPNOTE.TXT). */
export const ZIP_SIGNATURES = {
  localHeader: 0x04034b50,
  centralHeader: 0x02014b50,
  endOfCentralDirectory: 0x06054b50,
  zip64EndOfCentralDirectory: 0x06064b50,
  zip64Locator: 0x07064b50,
} as const;

/** Fixed sizes of the records, before their variable parts. */
export const ZIP_RECORD_SIZES = { localHeader: 30, endOfCentralDirectory: 22, zip64Locator: 20 } as const;

/** The compression methods a bundle uses. */
export const ZIP_METHODS = { stored: 0, deflated: 8 } as const;
