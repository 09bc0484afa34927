import { commonStepNames } from './update/steps.js';

/** The named steps (lib/update/steps.ts) a command reported before it was interrupted. */
export interface InterruptedAt {
  /** The step under way, if any. */
  readonly current: string | undefined;
  readonly done: ReadonlySet<string>;
}

/**
 * What a command interrupted by Ctrl-C (or a stop) leaves on the device, and what to run next. Every command is made
 * to converge when it is run again (the crash tests prove it), so the answer is always a command to run again; what
 * differs is what it finds.
 */
export function afterInterruption(command: string, at: InterruptedAt): string {
  const where = at.current ? ` (during ${at.current})` : '';
  switch (command) {
    case 'install':
      return at.done.has(commonStepNames.install.commit)
        ? `install interrupted${where}: the installation is recorded but not completely staged; run 'fioup-offline install' again to finish it`
        : `install interrupted${where}: nothing is installed yet and the running apps are untouched; run 'fioup-offline install' again (it reuses the images already loaded)`;
    case 'run': {
      const { mark, finish, clean } = commonStepNames.run;
      if (at.current === clean || (at.done.has(finish) && at.current !== finish)) {
        return "run interrupted while it removed what the previous target used: the new target is current; run 'fioup-offline run' again to finish the clean-up";
      }
      if (at.current === finish) return "run interrupted while it recorded the new target; run 'fioup-offline run' again to complete it";
      return at.current === mark || at.done.has(mark)
        ? `run interrupted${where}: the switch to the new target is half done, some apps may be stopped; run 'fioup-offline run' again: it resumes the switch (and rolls back if the new apps fail)`
        : "run interrupted before it changed anything; run 'fioup-offline run' again";
    }
    case 'auto':
      return `auto interrupted${where}: run the same command again: it resumes the update where it stopped`;
    case 'bundle-create':
      return `bundle-create interrupted${where}: nothing was removed from the downloads; run the same command again to finish the bundle (a directory bundle keeps the files already written and verified)`;
    default:
      return `${command} interrupted: it changes nothing, run it again`;
  }
}
