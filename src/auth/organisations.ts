import type { Queryable } from '../db/db.ts'

/** Partner organisations (France Travail agencies, CCAS, associations, the département's services...). */
export interface Organisation {
  id: number
  publicId: string
  siret: string
  name: string
  type: string
  createdAt: Date
}

interface OrganisationRow {
  id: number
  public_id: string
  siret: string
  name: string
  type: string
  created_at: Date
}

const toOrganisation = (r: OrganisationRow): Organisation => ({
  id: r.id,
  publicId: r.public_id,
  siret: r.siret,
  name: r.name,
  type: r.type,
  createdAt: new Date(r.created_at),
})

const COLUMNS = 'id, public_id, siret, name, type, created_at'

/** Creates an organisation; returns undefined when the SIRET is already known. */
export async function createOrganisation(db: Queryable, input: { siret: string; name: string; type: string }): Promise<Organisation | undefined> {
  const { rows } = await db.query<OrganisationRow>(
    `insert into organisations (siret, name, type)
     values ($1, $2, $3)
     on conflict (siret) do nothing
     returning ${COLUMNS}`,
    [input.siret, input.name, input.type],
  )
  return rows[0] && toOrganisation(rows[0])
}

export async function findOrganisationBySiret(db: Queryable, siret: string): Promise<Organisation | undefined> {
  const { rows } = await db.query<OrganisationRow>(`select ${COLUMNS} from organisations where siret = $1`, [siret])
  return rows[0] && toOrganisation(rows[0])
}

export async function findOrganisationByPublicId(db: Queryable, publicId: string): Promise<Organisation | undefined> {
  const { rows } = await db.query<OrganisationRow>(`select ${COLUMNS} from organisations where public_id = $1`, [publicId])
  return rows[0] && toOrganisation(rows[0])
}

/** Organisations in id order, `limit` at a time after `afterId`. */
export async function listOrganisations(db: Queryable, page: { afterId?: number; limit: number }): Promise<Organisation[]> {
  const { rows } = await db.query<OrganisationRow>(
    `select ${COLUMNS}
     from organisations
     where id > $1
     order by id
     limit $2`,
    [page.afterId ?? 0, page.limit],
  )
  return rows.map(toOrganisation)
}
