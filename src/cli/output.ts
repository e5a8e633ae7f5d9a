// Where human-readable progress goes: stdout normally; stderr when stdout carries a JSON document (--json),
// so the JSON stays parseable. npm's own output follows the same choice.
import { setChildOutput } from '../install/spawn.js';

let human: NodeJS.WriteStream = process.stdout;

export function say(text: string): void {
  human.write(text);
}

export function humanOutputToStderr(): void {
  human = process.stderr;
  setChildOutput('stderr');
}

export function humanStream(): NodeJS.WriteStream {
  return human;
}
