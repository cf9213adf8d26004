import { z } from '@hono/zod-openapi'
import { CODE_LISTS } from '../labels/code-labels.ts'
import { ORGANISATION_TYPES, ROLES } from '../purposes/purpose.ts'
import { ERROR_CODES } from './api-error.ts'

/**
 * Request and response schemas of the partner API. Requests are validated with them (400 on any violation);
 * the OpenAPI 3.1 document served at /openapi.json is generated from them.
 */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).openapi({ description: 'Code stable, à tester par le client (le message peut changer).', example: 'not_found' }),
      message: z.string().openapi({ description: 'Explication en anglais pour le développeur ; ne contient jamais de donnée personnelle.', example: 'no such resource' }),
    }),
  })
  .openapi('Error', { description: 'La forme unique des erreurs.', example: { error: { code: 'not_found', message: 'no such resource' } } })

const Uuid = z.uuid({ message: 'must be a UUID' })

export const IdParam = z.object({
  id: Uuid.openapi({ param: { name: 'id', in: 'path' }, description: 'Identifiant opaque (UUID), jamais un NIR.', example: '0b9f3c1e-4d2a-4e8b-9a57-2f3c6d7e8f90' }),
})

const Cursor = z
  .string()
  .min(1)
  .max(200, 'too long')
  .regex(/^[A-Za-z0-9_.-]+$/, 'not a cursor')
  .openapi({ description: 'Curseur opaque de la page précédente (`nextCursor`).' })

const limit = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`))
    // Zod 4 returns a default as it is, without parsing it: it must be the number, not its text ("50" + 1 = "501").
    .default(fallback)
    .openapi({ description: `Taille de la page, de 1 à ${max} (${fallback} par défaut).`, type: 'integer', minimum: 1, maximum: max, default: fallback })

/** Text typed by a person: no control characters (PostgreSQL refuses NUL; the others have no place in a name). */
const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'required')
    .max(max, 'too long')
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters')

const BooleanText = z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true')

/**
 * Dates the API accepts lie between these years: outside them a date is a typo or a probe (PostgreSQL refuses year 0,
 * JavaScript accepts it), and is answered 400 naming the parameter, never echoing the value.
 */
export const DATE_BOUNDS = { min: '1900-01-01', max: '2199-12-31' } as const
const BOUNDS_MESSAGE = `must lie between ${DATE_BOUNDS.min} and ${DATE_BOUNDS.max}`
const MIN_INSTANT = Date.parse(`${DATE_BOUNDS.min}T00:00:00Z`)
const MAX_INSTANT = Date.parse(`${DATE_BOUNDS.max}T23:59:59.999Z`)

/** An ISO-8601 date-time with a time zone, within DATE_BOUNDS. */
export const Instant = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z' })
  .refine((v) => {
    const t = Date.parse(v)
    return t >= MIN_INSTANT && t <= MAX_INSTANT
  }, BOUNDS_MESSAGE)

/** A calendar day YYYY-MM-DD, within DATE_BOUNDS. */
export const CalendarDate = z.iso
  .date({ message: 'must be a date YYYY-MM-DD' })
  .refine((v) => v >= DATE_BOUNDS.min && v <= DATE_BOUNDS.max, BOUNDS_MESSAGE)

/** `champs`: some of the purpose's fields, by their exposed names (field-selection.ts). */
const Champs = z
  .string()
  .min(1)
  .max(2000, 'too long')
  .regex(/^[A-Za-z0-9_.]+(,[A-Za-z0-9_.]+)*$/, 'must be field names separated by commas')
  .openapi({
    description:
      'Seulement ces champs de la finalité (noms exposés séparés par des virgules, par exemple `nom,prenom,etatDroit`) : une page ne lit et ne renvoie que ceux-là. Un nom que la finalité n’expose pas est refusé (`unknown_field`). Sans ce paramètre, tous les champs de la finalité.',
    example: 'nom,prenom,etatDroit',
  })

export const RecordQuery = z.object({ champs: Champs.optional() }).strict()

export const PortfolioQuery = z
  .object({
    limit: limit(200, 50),
    cursor: Cursor.optional(),
    champs: Champs.optional(),
    etatDroit: z
      .enum(['0', '1', '2', '3', '4', '5', '6'], { message: 'must be an ETATDOSRSA code 0 to 6' })
      .optional()
      .openapi({ description: `État du droit (ETATDOSRSA) : ${Object.entries(CODE_LISTS.ETATDOSRSA).map(([code, label]) => `${code} = ${label}`).join(' ; ')}. La finalité doit exposer \`dossier.etatDroit\`.` }),
    soumisDroitsDevoirs: BooleanText.optional().openapi({
      type: 'string',
      enum: ['true', 'false'],
      description: 'Personne soumise aux droits et devoirs. La finalité doit exposer `personne.soumisDroitsDevoirs`.',
    }),
    inscritFranceTravail: BooleanText.optional().openapi({
      type: 'string',
      enum: ['true', 'false'],
      description: 'Inscrite actuellement à France Travail. La finalité doit exposer `franceTravail.etat`.',
    }),
    modifieDepuis: Instant.optional().openapi({ description: 'Seulement les personnes dont les données ont changé depuis cet instant (ISO 8601 avec fuseau).' }),
  })
  .strict()

export const PageQuery = z.object({ limit: limit(500, 100), cursor: Cursor.optional() }).strict()

export const AccessSchema = z
  .object({
    via: z
      .enum(['referent', 'structure', 'departement'])
      .openapi({ description: 'Confiée à l’appelant (`referent`) ou à sa structure (`structure`) ; `departement` : l’appelant est instructeur du département (autorité du RSA) et voit toute la base active.' }),
    mode: z.enum(['current', 'grace']).openapi({ description: '`grace` : l’affectation a pris fin ; accès en lecture seule jusqu’à `until`.' }),
    readOnly: z.boolean(),
    until: z.string().nullable().openapi({ description: 'Dernier jour d’accès (AAAA-MM-JJ) ; null tant que l’affectation est ouverte.' }),
  })
  .openapi('Access')

export const BeneficiaireSchema = z
  .object({
    id: z.uuid().openapi({ description: 'Identifiant opaque de la personne.' }),
    updatedAt: z.string().openapi({ description: 'Dernière modification des données de cette fiche.' }),
    access: AccessSchema,
    data: z.record(z.string(), z.unknown()).openapi('BeneficiaireData', {
      description: 'Les champs de la finalité du jeton seulement (schémas Donnees_*).',
    }),
  })
  .openapi('Beneficiaire')

export const BeneficiairePageSchema = z
  .object({ items: z.array(BeneficiaireSchema), nextCursor: z.string().nullable() })
  .openapi('BeneficiairePage')

export const HistoryEntrySchema = z
  .object({
    field: z.string().openapi({ description: 'Nom du champ dans la finalité.' }),
    from: z.unknown().openapi({ description: 'Valeur précédente (null à la première apparition).' }),
    to: z.unknown(),
    effectiveDate: z.string().nullable(),
    recordedAt: z.string(),
  })
  .openapi('HistoryEntry')

export const HistoryPageSchema = z
  .object({ id: z.uuid(), items: z.array(HistoryEntrySchema), nextCursor: z.string().nullable() })
  .openapi('HistoryPage', {
    example: {
      id: '00000000-0000-4000-8000-000000000001',
      items: [{ field: 'etatDroit', from: '0', to: '2', effectiveDate: '2000-01-01', recordedAt: '2000-01-02T00:00:00.000Z' }],
      nextCursor: null,
    },
  })

export const MeSchema = z
  .object({
    user: z.object({ id: z.uuid(), email: z.string(), displayName: z.string(), role: z.enum(ROLES) }),
    organisation: z.object({ id: z.uuid(), siret: z.string(), name: z.string(), type: z.string() }),
    purpose: z.object({ id: z.string(), title: z.string(), legalBasis: z.object({ gdpr: z.string(), national: z.string() }) }),
    fields: z.array(z.object({ name: z.string(), field: z.string(), label: z.string(), transform: z.string() })),
    token: z.object({ id: z.number().int(), expiresAt: z.string() }),
    portfolio: z.object({
      relation: z
        .enum(['referent', 'structure', 'departement'])
        .nullable()
        .openapi({ description: 'Les affectations que voit l’appelant (`departement` : toute la base active, pour les instructeurs du département) ; null : pas de portefeuille.' }),
      graceDays: z.number().int(),
    }),
  })
  .openapi('Me', {
    example: {
      user: { id: '00000000-0000-4000-8000-000000000002', email: 'referent.exemple@example.org', displayName: 'Référent Exemple', role: 'referent' },
      organisation: { id: '00000000-0000-4000-8000-000000000003', siret: '00000000000000', name: 'CCAS Exemple', type: 'ccas' },
      purpose: { id: 'accompagnement-rsa', title: 'Accompagnement des bénéficiaires du RSA', legalBasis: { gdpr: '6(1)(e)', national: 'CASF art. L.262-1 et suivants' } },
      fields: [{ name: 'etatDroit', field: 'dossier.etatDroit', label: 'État du droit', transform: 'keep' }],
      token: { id: 1, expiresAt: '2000-12-31T23:59:59.000Z' },
      portfolio: { relation: 'referent', graceDays: 30 },
    },
  })

// Administration

export const OrganisationSchema = z
  .object({ id: z.uuid(), siret: z.string(), name: z.string(), type: z.enum(ORGANISATION_TYPES), createdAt: z.string() })
  .openapi('Organisation')

export const NewOrganisationSchema = z
  .object({
    siret: z.string().regex(/^\d{14}$/, 'must be 14 digits').openapi({ example: '21750001600019' }),
    name: Text(200),
    type: z.enum(ORGANISATION_TYPES, { message: `must be one of ${ORGANISATION_TYPES.join(', ')}` }),
  })
  .strict()
  .openapi('NewOrganisation')

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    displayName: z.string(),
    role: z.enum(ROLES),
    active: z.boolean(),
    organisation: z.object({ id: z.uuid(), siret: z.string(), name: z.string() }),
    createdAt: z.string(),
  })
  .openapi('User')

export const NewUserSchema = z
  .object({
    email: z.email({ message: 'must be an e-mail address' }).max(254, 'too long'),
    displayName: Text(200),
    role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
    organisationSiret: z.string().regex(/^\d{14}$/, 'must be 14 digits'),
  })
  .strict()
  .openapi('NewUser')

export const UserChangesSchema = z
  .object({
    displayName: Text(200).optional(),
    role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }).optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .openapi('UserChanges')

export const UsersQuery = z
  .object({ limit: limit(500, 100), cursor: Cursor.optional(), organisationSiret: z.string().regex(/^\d{14}$/, 'must be 14 digits').optional() })
  .strict()

export const AssignmentSchema = z
  .object({
    id: z.uuid(),
    beneficiaireId: z.uuid(),
    organisation: z.object({ id: z.uuid(), siret: z.string(), name: z.string() }),
    referent: z.object({ id: z.uuid(), email: z.string() }).nullable(),
    startsOn: z.string(),
    endsOn: z.string().nullable(),
    source: z.enum(['orientations', 'admin']),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Assignment')

export const NewAssignmentSchema = z
  .object({
    beneficiaireId: Uuid,
    organisationSiret: z.string().regex(/^\d{14}$/, 'must be 14 digits'),
    referentEmail: z.email({ message: 'must be an e-mail address' }).max(254, 'too long').optional(),
    startsOn: CalendarDate,
    endsOn: CalendarDate.optional(),
  })
  .strict()
  .openapi('NewAssignment')

export const AssignmentChangesSchema = z.object({ endsOn: CalendarDate.nullable() }).strict().openapi('AssignmentChanges')

export const AssignmentsQuery = z
  .object({
    limit: limit(500, 100),
    cursor: Cursor.optional(),
    beneficiaireId: Uuid.optional(),
    referentEmail: z.email({ message: 'must be an e-mail address' }).max(254, 'too long').optional(),
    organisationSiret: z.string().regex(/^\d{14}$/, 'must be 14 digits').optional(),
  })
  .strict()

// DPO

export const AuditEventSchema = z
  .object({
    seq: z.number().int(),
    occurredAt: z.string(),
    actor: z.string().nullable(),
    organisation: z.string().nullable(),
    purpose: z.string().nullable(),
    action: z.string(),
    subject: z.string().nullable().openapi({ description: 'Pseudonyme à clé de la personne (jamais une identité en clair).' }),
    outcome: z.enum(['granted', 'denied', 'done', 'failed']),
    requestId: z.string().nullable(),
    clientAddress: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEvent')

export const AuditPageSchema = z.object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() }).openapi('AuditEventPage')

export const AuditQuery = z
  .object({
    limit: limit(500, 100),
    cursor: Cursor.optional(),
    from: Instant.optional(),
    to: Instant.optional(),
    actor: Text(254).optional().openapi({ description: 'Adresse électronique de l’utilisateur.' }),
    organisation: z.string().regex(/^\d{14}$/, 'must be 14 digits').optional().openapi({ description: 'SIRET.' }),
    purpose: z.string().max(64, 'too long').regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'not a purpose id').optional(),
    action: z.string().regex(/^[a-z0-9_.]{1,64}$/, 'not an action name').optional(),
    outcome: z.enum(['granted', 'denied', 'done', 'failed']).optional(),
    requestId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'not a request id').optional(),
    beneficiaireId: Uuid.optional().openapi({ description: 'Événements concernant cette personne (comme sujet, ou parmi les personnes servies par une liste).' }),
  })
  .strict()
