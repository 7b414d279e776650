import { run } from './main';

// The entry point of the bin: exit with the command's code once output is flushed.
run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
