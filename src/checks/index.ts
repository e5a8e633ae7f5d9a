import type { Check } from './types.js';
import { releaseAge } from './release-age.js';
import { integrity } from './integrity.js';
import { signature } from './signature.js';
import { provenance } from './provenance.js';
import { trustDowngrade } from './trust-downgrade.js';
import { source } from './source.js';
import { scripts } from './scripts.js';
import { bins } from './bins.js';
import { advisories } from './advisories.js';

/** Every check, in the order their findings are listed. */
export const CHECKS: readonly Check[] = [advisories, integrity, signature, provenance, trustDowngrade, releaseAge, source, scripts, bins];
