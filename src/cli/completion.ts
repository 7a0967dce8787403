/**
 * `trackfs completion [bash|zsh]`: yargs prints the script, for the shell it finds in $SHELL (or
 * $ZSH_NAME) when it is created. A shell named on the command line is put there first, so that
 * `trackfs completion zsh` run from bash prints the zsh script rather than the bash one.
 */
import { CliError, EXIT } from './errors.js';
import { printable } from '../util/text.js';

const SHELLS = ['bash', 'zsh'] as const;

/**
 * Call before yargs is created; changes this process's environment only for `completion SHELL`.
 * Returns the arguments yargs should parse: without the shell's name, which yargs would otherwise
 * take for a mistyped command ("bash": did you mean map?).
 */
export function selectCompletionShell(argv: readonly string[]): readonly string[] {
  if (argv[0] !== 'completion' || argv.length < 2 || argv[1]!.startsWith('-')) return argv;
  const shell = argv[1]!;
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new CliError(`no completion for the shell '${printable(shell)}': name bash or zsh (see trackfs --help)`, EXIT.usage);
  }
  if (argv.length > 2 && !argv[2]!.startsWith('-')) {
    throw new CliError('completion takes one shell: bash or zsh (see trackfs --help)', EXIT.usage);
  }
  process.env['SHELL'] = `/bin/${shell}`;
  delete process.env['ZSH_NAME'];
  return [argv[0]!, ...argv.slice(2)];
}
