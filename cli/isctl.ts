import { run } from './main';

// A reader that stops early (`isctl describe is x | head`) closes the pipe: stop quietly, as other CLIs do.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });

// The entry point of the bin: exit with the command's code once output is flushed.
run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
