// The few types every stage shares. Data flows one way:
// lockfile -> registry facts -> checks -> verdicts -> install/report.
export const ACTION_RANK = { allow: 0, warn: 1, quarantine: 2, block: 3 };
