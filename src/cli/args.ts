/**
 * How every command reads its command line: node's util.parseArgs, strict (an
 * unknown flag or a stray argument is refused), -h/--help printing the usage on
 * stdout (exit 0), and refusals printing the message and the usage on stderr
 * (exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** A command: its arguments in, its exit code out. */
export type Command = (args: string[]) => Promise<number>;

/** A command line that cannot run (a missing argument, a bad value): the usage on stderr, exit code 2. */
export class UsageError extends Error {}

const USAGE_EXIT_CODE = 2;

/** What parseArgs makes of a command's flags (`values`) and other arguments (`positionals`). */
export type CommandLine<O extends ParseArgsOptionsConfig> = Pick<
  ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>, 'values' | 'positionals'
>;

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** The words after `stylegraph` ("tokens create"), which begin its messages. */
  name: string;
  usage: string;
  options: O;
  /** Whether it takes arguments besides its flags; without, any is refused. */
  positionals?: boolean;
  run(line: CommandLine<O>): number | Promise<number>;
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

export function command<const O extends ParseArgsOptionsConfig>(spec: CommandSpec<O>): Command {
  return async (args) => {
    try {
      const { values: { help, ...values }, positionals } = parse(args, { ...spec.options, ...HELP }, spec.positionals ?? false);
      if (help) {
        console.log(spec.usage);
        return 0;
      }
      return await spec.run({ values, positionals } as CommandLine<O>);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return refuse(spec.name, error.message, spec.usage);
    }
  };
}

function parse(args: string[], options: ParseArgsOptionsConfig, allowPositionals: boolean) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    // parseArgs's refusals (an unknown flag, a flag without its value, a stray argument) carry codes ERR_PARSE_ARGS_*.
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message);
    throw error;
  }
}

/** A command whose first argument picks one of `commands`, which is given the rest. */
export function subcommands(name: string, usage: string, commands: Readonly<Record<string, Command>>): Command {
  return async ([chosen, ...rest]) => {
    if (chosen === '--help' || chosen === '-h') {
      console.log(usage);
      return 0;
    }
    if (chosen !== undefined && Object.hasOwn(commands, chosen)) return commands[chosen](rest);
    const problem = chosen === undefined ? 'needs a command' : `unknown ${chosen.startsWith('-') ? 'option' : 'command'} "${chosen}"`;
    return refuse(name, problem, usage);
  };
}

function refuse(name: string, message: string, usage: string): number {
  console.error(`${name ? `stylegraph ${name}` : 'stylegraph'}: ${message}\n\n${usage}`);
  return USAGE_EXIT_CODE;
}
