// Editing YAML settings files (pnpm-workspace.yaml, .yarnrc.yml) in place with the `yaml` Document API, so the
// comments and every key init does not manage are kept.
import { isScalar, isSeq, type Document, type YAMLSeq } from 'yaml';

/** A setting's value as a list of strings (a lone string is a list of one). */
export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

/** A sequence in the document, created when absent; an existing one keeps its items (and their comments). */
export function seqOf(doc: Document, key: string): YAMLSeq {
  const node = doc.get(key, true);
  if (isSeq(node)) return node;
  const seq = doc.createNode(strings(isScalar(node) ? node.value : node)) as YAMLSeq;
  doc.set(key, seq);
  return seq;
}

export const itemText = (item: unknown) => (isScalar(item) ? String(item.value) : String(item));
