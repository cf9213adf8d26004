/**
 * Where access is decided: which purpose a user may act under (purpose-allows.ts); who may see which person under
 * it (portfolio.ts: referent, structure, instructor, grace period); what keeps a purpose from processing a person
 * (exclusions.ts: limitation, opposition, archive); the reads that apply both (portfolio-queries.ts) and the
 * decision for one person (can-see.ts). The partner API, the statistical extracts, the rights exports and the web
 * console use these and nothing else.
 */
export { callerOf, canSee, decideForPerson, type PersonDecision } from './can-see.ts'
export {
  excludedSql,
  exclusionSql,
  limitationHolds,
  oppositionHolds,
  processableSql,
  processingExclusion,
  type Exclusion,
  type ExclusionFacts,
  type LimitationSpan,
  type StandingOpposition,
} from './exclusions.ts'
export { purposeAllows } from './purpose-allows.ts'
export { findPersonByPublicId, type PersonKeys } from './person-by-public-id.ts'
export { findPersonForCaller, listPersonStateChanges, listPortfolio, type PersonRow, type PortfolioCaller, type PortfolioFilters } from './portfolio-queries.ts'
export {
  accessThrough,
  bestAccess,
  decideAccess,
  portfolioRelation,
  portfolioWindow,
  type AccessDecision,
  type AssignmentSpan,
  type PortfolioAccess,
  type PortfolioRelation,
} from './portfolio.ts'
