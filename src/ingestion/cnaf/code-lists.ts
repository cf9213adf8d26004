/**
 * CNAF VRSB0801 code lists checked on ingestion (../shared/reference/flows.md §1.4). Only lists that the public
 * sources agree on are enforced; other coded elements (MOTIREFURSA, MOTISUSDRORSA, ACT, PAYS...) are checked for
 * their XSD length only, so that an unlisted but genuine code does not reject a foyer.
 */
export const ETATDOSRSA = ['0', '1', '2', '3', '4', '5', '6'] as const
export const ROLEPERS = ['DEM', 'CJT', 'ENF', 'AUT', 'RDO'] as const
export const NATPREST = ['RSA', 'PFA'] as const
export const SEXE = ['1', '2'] as const
export const QUAL = ['MR', 'MME', 'MLE'] as const
/** J: day unknown, N: day and month known, O: day and month unknown. */
export const TYPEDTNAI = ['J', 'N', 'O'] as const
export const SITFAM = ['CEL', 'MAR', 'PAC', 'VIM', 'DIV', 'SEF', 'SEL', 'VEU', 'ISO', 'RVC', 'RVM', 'RPA', 'ABA'] as const
export const FONORG = ['CAF', 'MSA'] as const
export const TYPEFLUX = ['M', 'I', 'R'] as const
/** TYPEFLUX in words: M monthly stock, I infra-monthly (daily) movements, R reprise. */
/** NATFLUX, the nature of the flow: D bénéficiaires, I instruction, R nouveau recueil. */
export const NATFLUX = ['D', 'I', 'R'] as const
export const ORIDEMRSA = ['DEM', 'RMI', 'API'] as const
export const MOTICLORSA = ['PCG', 'ECH', 'EFF', 'MUT', 'RGD', 'RFD', 'RAU', 'RST', 'RSO'] as const
export const MOTISUSVERSRSA = [
  '01', '02', '03', '04', '05', '06', '09', '19', '31', '34', '35', '36', '44', '70', '78', '84', '85', '97',
  'AB', 'CV', 'CG', 'CZ', 'DA', 'DB', 'DC',
] as const
/** xsd:boolean as written in the flows (`0`/`1`; `true`/`false` are valid too). */
export const BOOLEAN = ['0', '1', 'true', 'false'] as const
