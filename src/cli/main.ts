import { VERSION } from '../config';
import { subcommands, type Command } from './args';

const USAGE = `Usage: stylegraph <command> [options]
       stylegraph --version

Commands:
  stylize <content> <style>... -o out.png   run a style transfer (here, or on --server URL)
  run                                        the same as stylize
  weights fetch | where                      get or locate the VGG19 weights
  serve [--role api|worker|all]              run the service
  tokens create|list|revoke                  manage API tokens (STYLEGRAPH_AUTH=required)
  healthcheck [--live] [URL]                 exit 0 when a running service is ready (alive)
Run a command with --help for its options.`;

// Each command's module is loaded when it runs: --version, --help and a container's
// healthcheck every few seconds need not load TensorFlow (a second of CPU).
const stylize: Command = async (args) => (await import('./stylize.js')).stylizeCommand(args);
const stylegraph = subcommands('', USAGE, {
  stylize,
  run: stylize,
  weights: async (args) => (await import('./weights.js')).weightsCommand(args),
  serve: async (args) => (await import('./serve.js')).serveCommand(args),
  tokens: async (args) => (await import('./tokens.js')).tokensCommand(args),
  healthcheck: async (args) => (await import('./healthcheck.js')).healthcheckCommand(args),
});

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && argv[0] === '--version') {
    console.log(VERSION);
    return 0;
  }
  return stylegraph(argv);
}
