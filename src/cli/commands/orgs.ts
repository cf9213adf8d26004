import type { Command } from 'commander'
import { createOrganisation, findOrganisationBySiret, listOrganisations } from '../../auth/organisations.ts'
import { isSiret } from '../../auth/siret.ts'
import { createUser, findUserByEmail, listUsers, updateUser } from '../../auth/users.ts'
import { ORGANISATION_TYPES, ROLES, type Role } from '../../purposes/purpose.ts'
import { openContext } from '../context.ts'
import { printJson } from '../format/print-json.ts'

/** `passerelle orgs ...` and `passerelle users ...`: partner organisations and their users (admin helpers). */
export function register(program: Command): void {
  const orgs = program.command('orgs').description('partner organisations')

  orgs
    .command('create')
    .description('declare an organisation')
    .requiredOption('--siret <siret>', '14 digits')
    .requiredOption('--name <name>', 'its name')
    .requiredOption('--type <type>', ORGANISATION_TYPES.join(', '))
    .option('--json', 'print { id, siret, type }')
    .action(async (opts: { siret: string; name: string; type: string; json?: boolean }) => {
      const siret = opts.siret.replace(/\s+/g, '')
      if (!isSiret(siret)) return fail('orgs create', '--siret: not a valid SIRET (14 digits, Luhn check)')
      if (!(ORGANISATION_TYPES as readonly string[]).includes(opts.type)) return fail('orgs create', `--type: one of ${ORGANISATION_TYPES.join(', ')}`)
      const ctx = await openContext()
      try {
        const created = await createOrganisation(ctx.db, { siret, name: opts.name.trim(), type: opts.type })
        if (!created) return fail('orgs create', `an organisation has SIRET ${siret} already`)
        if (opts.json) return printJson({ id: created.publicId, siret: created.siret, type: created.type })
        process.stdout.write(`organisation ${created.publicId} created (${created.siret}, ${created.type})\n`)
      } finally {
        await ctx.close()
      }
    })

  orgs
    .command('list')
    .description('list organisations')
    .option('--json', 'print { organisations: [{ id, siret, type, name }] }')
    .action(async (opts: { json?: boolean }) => {
      const ctx = await openContext()
      try {
        const listed = await listOrganisations(ctx.db, { limit: 100_000 })
        if (opts.json) return printJson({ organisations: listed.map((o) => ({ id: o.publicId, siret: o.siret, type: o.type, name: o.name })) })
        for (const o of listed) process.stdout.write(`${o.siret}\t${o.type}\t${o.publicId}\t${o.name}\n`)
      } finally {
        await ctx.close()
      }
    })

  const users = program.command('users').description('users of partner organisations')

  users
    .command('create')
    .description('create a user in an organisation')
    .requiredOption('--email <email>', 'professional e-mail (the login)')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--role <role>', ROLES.join(', '))
    .requiredOption('--org <siret>', 'SIRET of their organisation')
    .option('--json', 'print { id, role, organisation: { siret } }')
    .action(async (opts: { email: string; name: string; role: string; org: string; json?: boolean }) => {
      if (!(ROLES as readonly string[]).includes(opts.role)) return fail('users create', `--role: one of ${ROLES.join(', ')}`)
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(opts.email)) return fail('users create', '--email: not an e-mail address')
      const ctx = await openContext()
      try {
        const organisation = await findOrganisationBySiret(ctx.db, opts.org.replace(/\s+/g, ''))
        if (!organisation) return fail('users create', '--org: no organisation has this SIRET (passerelle orgs create)')
        const created = await createUser(ctx.db, { email: opts.email, displayName: opts.name.trim(), role: opts.role as Role, organisationId: organisation.id })
        if (!created) return fail('users create', 'a user has this e-mail already')
        if (opts.json) return printJson({ id: created.publicId, role: created.role, organisation: { siret: organisation.siret } })
        process.stdout.write(`user ${created.publicId} created (${created.role} at ${organisation.siret})\n`)
      } finally {
        await ctx.close()
      }
    })

  users
    .command('list')
    .description('list users')
    .option('--org <siret>', 'only this organisation’s users')
    .option('--json', 'print { users: [{ id, email, role, active, organisation: { siret } }] }')
    .action(async (opts: { org?: string; json?: boolean }) => {
      const ctx = await openContext()
      try {
        const organisation = opts.org ? await findOrganisationBySiret(ctx.db, opts.org) : undefined
        if (opts.org && !organisation) return fail('users list', '--org: no organisation has this SIRET')
        const listed = await listUsers(ctx.db, { organisationId: organisation?.id, limit: 100_000 })
        if (opts.json) {
          return printJson({ users: listed.map((u) => ({ id: u.publicId, email: u.email, role: u.role, active: u.active, organisation: { siret: u.organisation.siret } })) })
        }
        for (const u of listed) {
          process.stdout.write(`${u.email}\t${u.role}\t${u.active ? 'active' : 'inactive'}\t${u.organisation.siret}\t${u.publicId}\n`)
        }
      } finally {
        await ctx.close()
      }
    })

  for (const [name, active] of [['activate', true], ['deactivate', false]] as const) {
    users
      .command(name)
      .description(active ? 'let a user’s tokens work again' : 'stop every token of a user at once')
      .argument('<email>')
      .action(async (email: string) => {
        const ctx = await openContext()
        try {
          const user = await findUserByEmail(ctx.db, email)
          if (!user) return fail(`users ${name}`, 'no user has this e-mail')
          await updateUser(ctx.db, user.id, { active })
          process.stdout.write(`user ${user.publicId} ${active ? 'activated' : 'deactivated'}\n`)
        } finally {
          await ctx.close()
        }
      })
  }
}

function fail(command: string, message: string): void {
  process.stderr.write(`passerelle ${command}: ${message}\n`)
  process.exitCode = 1
}
