import { appendAuditEvents } from '../audit/audit-log.ts'
import type { Queryable } from '../db/db.ts'
import { catalogueColumns, type CanonicalTable } from './archive-columns.ts'
import { retentionReceipt } from './receipt.ts'
import { betweenChunks, type RunContext } from './run-context.ts'

/**
 * The minimisation follow-up: removing a field from every purpose stops the loader storing it, and the next
 * retention run clears what is already stored. In the active base, every catalogue column outside the stored set
 * (src/purposes/stored-fields.ts `storedColumns`) is set to NULL; in the archive, every column outside what the
 * row's policy keeps. Chunked, one transaction and one `retention.minimise` receipt per chunk.
 */
export interface ClearTarget {
  /** `dossiers`, `archive.persons`... */
  table: string
  columns: string[]
  /** Extra condition on the target row (alias `t`), e.g. its policy; `$P` stands for `params[0]`. */
  where?: string
  params?: unknown[]
  policyId: string
  /** The row key column (`id` unless the table is keyed otherwise, e.g. france_travail_orientations by person_id). */
  key?: string
}

const IDENT = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/

/** Active-base targets: catalogue columns that no purpose stores any more. */
export function activeClearTargets(stored: ReadonlyMap<CanonicalTable, ReadonlySet<string>>): ClearTarget[] {
  const tables: CanonicalTable[] = ['dossiers', 'persons', 'dossier_members', 'france_travail_registrations', 'france_travail_orientations']
  return tables
    .map((table) => ({
      table,
      columns: catalogueColumns(table).filter((c) => !stored.get(table)?.has(c)),
      policyId: 'purposes',
      ...(table === 'france_travail_orientations' ? { key: 'person_id' } : {}),
    }))
    .filter((t) => t.columns.length > 0)
}

/** Archive targets of one policy: catalogue columns its archive does not keep. */
export function archiveClearTargets(policyId: string, kept: ReadonlyMap<CanonicalTable, ReadonlySet<string>>): ClearTarget[] {
  const targets: ClearTarget[] = []
  for (const table of ['dossiers', 'persons', 'france_travail_registrations'] as const) {
    const columns = catalogueColumns(table).filter((c) => !kept.get(table)?.has(c))
    if (columns.length > 0) targets.push({ table: `archive.${table}`, columns, where: 't.policy_id = $P', params: [policyId], policyId })
  }
  const memberColumns = catalogueColumns('dossier_members').filter((c) => !kept.get('dossier_members')?.has(c))
  if (memberColumns.length > 0) {
    targets.push({
      table: 'archive.dossier_members',
      columns: memberColumns,
      where: 't.dossier_id in (select ad.id from archive.dossiers ad where ad.policy_id = $P)',
      params: [policyId],
      policyId,
    })
  }
  return targets
}

function isMembers(table: string): boolean {
  return table.endsWith('dossier_members')
}

async function clearChunk(tx: Queryable, target: ClearTarget, after: [number, number], limit: number): Promise<[number, number][]> {
  const key = target.key ?? 'id'
  if (!IDENT.test(target.table) || !IDENT.test(key) || !target.columns.every((c) => IDENT.test(c))) throw new Error(`minimise: invalid identifier in ${target.table}`)
  const set = target.columns.map((c) => `${c} = null`).join(', ')
  const anyStored = target.columns.map((c) => `t.${c} is not null`).join(' or ')
  const extraAt = (n: number) => (target.where ? `and ${target.where.replaceAll('$P', `$${n}`)}` : '')
  if (isMembers(target.table)) {
    const { rows } = await tx.query<{ dossier_id: number; person_id: number }>(
      `update ${target.table} u
       set ${set}
       from (
         select t.dossier_id, t.person_id
         from ${target.table} t
         where (t.dossier_id, t.person_id) > ($1, $2)
           and (${anyStored})
           ${extraAt(4)}
         order by t.dossier_id, t.person_id
         limit $3
       ) s
       where u.dossier_id = s.dossier_id and u.person_id = s.person_id
       returning u.dossier_id, u.person_id`,
      [after[0], after[1], limit, ...(target.params ?? [])],
    )
    return rows.map((r) => [r.dossier_id, r.person_id] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
  }
  const { rows } = await tx.query<{ id: number }>(
    `update ${target.table}
     set ${set}
     where ${key} in (
       select t.${key}
       from ${target.table} t
       where t.${key} > $1
         and (${anyStored})
         ${extraAt(3)}
       order by t.${key}
       limit $2
     )
     returning ${key} as id`,
    [after[0], limit, ...(target.params ?? [])],
  )
  return rows.map((r) => [r.id, 0] as [number, number]).sort((a, b) => a[0] - b[0])
}

/** Clears the targets' columns; returns rows changed per table. */
export async function minimiseStored(ctx: RunContext, targets: readonly ClearTarget[]): Promise<Record<string, number>> {
  const total: Record<string, number> = {}
  for (const target of targets) {
    let after: [number, number] = [0, 0]
    for (let index = 0; ; index++) {
      const done = await ctx.db.transaction(async (tx) => {
        const keys = await clearChunk(tx, target, after, ctx.chunkSize)
        if (keys.length === 0) return undefined
        await appendAuditEvents(tx, [
          retentionReceipt({
            action: 'retention.minimise',
            runId: ctx.runId,
            policyId: target.policyId,
            phase: target.table.startsWith('archive.') ? 'archive' : 'active',
            anchorCutoff: ctx.today,
            today: ctx.today,
            counts: { [target.table]: keys.length },
            keys: keys.map(([a, b]) => (isMembers(target.table) ? `${target.table}:${a}-${b}` : `${target.table}:${a}`)),
            occurredAt: ctx.now,
            chunk: index,
            extra: { columns: target.columns },
          }),
        ])
        await ctx.onChunk?.({ step: `minimise.${target.table}`, policyId: target.policyId, index, rows: keys.length })
        return keys
      })
      if (!done) break
      total[target.table] = (total[target.table] ?? 0) + done.length
      after = done.at(-1)!
      await betweenChunks(ctx)
    }
  }
  return total
}

/** How many rows a minimisation would change (dry run). */
export async function countMinimisable(db: Queryable, target: ClearTarget): Promise<number> {
  const anyStored = target.columns.map((c) => `t.${c} is not null`).join(' or ')
  const extra = target.where ? `and ${target.where.replaceAll('$P', '$1')}` : ''
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from ${target.table} t where (${anyStored}) ${extra}`,
    target.params ?? [],
  )
  return rows[0]!.n
}
