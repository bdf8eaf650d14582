import { healthcheckCommand } from './healthcheck';
import { stylizeCommand } from './stylize';
import { weightsCommand } from './weights';
import { serveCommand } from './serve';
import { tokensCommand } from './tokens';

const USAGE = `Usage: stylegraph <command> [options]

Commands:
  stylize <content> <style>... -o out.png   run a style transfer (here, or on --server URL)
  run                                        the same as stylize
  weights fetch | where                      get or locate the VGG19 weights
  serve [--role api|worker|all]              run the service
  tokens create|list|revoke                  manage API tokens (STYLEGRAPH_AUTH=required)
  healthcheck [--live] [URL]                 exit 0 when a running service is ready (alive)
Run a command with --help for its options.`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  stylize: stylizeCommand,
  run: stylizeCommand,
  weights: weightsCommand,
  serve: serveCommand,
  tokens: tokensCommand,
  healthcheck: healthcheckCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(name && name !== '--help' && name !== '-h' ? `stylegraph: unknown command "${name}"\n\n${USAGE}` : USAGE);
    return name === '--help' || name === '-h' ? 0 : 2;
  }
  return command(args);
}
