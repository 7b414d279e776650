/** Key builders for the single table; the layout is documented in table-definition.ts and docs/architecture.md. */
export const HEAD_SK = 'IS';
export const IMAGE_SK = 'IMG';

export const keys = {
  streamPk: (ns: string, name: string) => `IS#${ns}/${name}`,
  tagSk: (tag: string) => `T#${tag}`,
  tagPrefix: 'T#',
  historySk: (tid: string, seq: number) => `H#${tid}#${String(seq).padStart(10, '0')}`,
  historyPrefix: (tid: string) => `H#${tid}#`,
  refSk: (digest: string, tid: string) => `R#${digest}#${tid}`,
  refPrefix: (digestPrefix: string) => `R#${digestPrefix}`,
  imagePk: (digest: string) => `IMG#${digest}`,
  /** Registry credential secrets: one item each, so a namespace's secrets are one Query in name order. */
  secretPk: (ns: string) => `SEC#${ns}`,
  secretSk: (name: string) => name,
  namespaceGsiPk: (ns: string) => `NS#${ns}`,
  namespaceGsiSk: (name: string) => `IS#${name}`,
};

export function seqFromHistorySk(sk: string): number {
  return Number(sk.slice(sk.lastIndexOf('#') + 1));
}
