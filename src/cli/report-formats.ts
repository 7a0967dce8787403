/** The output formats of `trackfs changes`, apart from their code so the command table stays light. */
export const CHANGES_FORMATS = ['table', 'json', 'bmap', 'qemu-map'] as const;
export type ChangesFormat = (typeof CHANGES_FORMATS)[number];
