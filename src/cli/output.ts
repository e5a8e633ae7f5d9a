// Where human-readable progress goes: stdout normally; stderr when stdout carries a JSON document (--json),
// so the JSON stays parseable. npm's own output follows the same choice. A progress line on the terminal
// (progress.ts) is erased first.
import { setChildOutput } from '../install/spawn.js';
import { clearProgress } from './progress.js';

let human: NodeJS.WriteStream = process.stdout;

export function say(text: string): void {
  clearProgress();
  human.write(text);
}

export function humanOutputToStderr(): void {
  human = process.stderr;
  setChildOutput('stderr');
}

export function humanStream(): NodeJS.WriteStream {
  return human;
}
