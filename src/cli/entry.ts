// The entry of the one-file build (scripts/bundle.mjs -> dist/safe-install.mjs, the package's `bin`): what
// bin/safe-install does for a checkout, without a separate module to load (everything is in the one file).
// An exception thrown outside the command's promise is reported like any other: no stack unless --debug.
import { main, reportError } from './main.js';

const argv = process.argv.slice(2);
process.on('uncaughtException', (err) => {
  process.exitCode = reportError(err, argv);
  process.exit();
});
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportError(err, argv);
  },
);
