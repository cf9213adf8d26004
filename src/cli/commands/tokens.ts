import type { Command } from 'commander'
import { listApiTokens, revokeApiToken } from '../../auth/api-tokens.ts'
import { issueApiToken, TokenIssueError } from '../../auth/issue-api-token.ts'
import { findUserByEmail } from '../../auth/users.ts'
import { cliDeclarations, openContext } from '../context.ts'
import { parisTime, parisTimeOrDash } from '../format/paris-time.ts'
import { printJson } from '../format/print-json.ts'

/**
 * `passerelle tokens create|list|revoke`: API bearer tokens. A token is printed once, when created (only its
 * SHA-256 is stored); it is bound to one user, their organisation and one purpose whose recipients name the user's
 * role and organisation type.
 */
export function register(program: Command): void {
  const tokens = program.command('tokens').description('API tokens of partner users (bound to a user, organisation and purpose)')

  tokens
    .command('create')
    .description('create a token and print it once (store it in the partner’s secret store)')
    .requiredOption('--user <email>', 'the user the token speaks for')
    .requiredOption('--purpose <id>', 'the purpose (mappings/<id>.yaml) it is bound to')
    .option('--expires <lifetime>', 'lifetime: a number and h, d, w, m or y (at most 1y)', '90d')
    .option('--label <text>', 'a note to recognise the token in `tokens list` (no personal data)')
    .option('--json', 'print { id, purpose, expiresAt, bearerToken } (the token itself, shown this once)')
    .action(async (opts: { user: string; purpose: string; expires: string; label?: string; json?: boolean }) => {
      const ctx = await openContext()
      try {
        const { purposes } = cliDeclarations()
        const issued = await issueApiToken(ctx.db, purposes, { email: opts.user, purposeId: opts.purpose, lifetime: opts.expires, label: opts.label }, new Date())
        process.stderr.write(`token ${issued.id} created for purpose ${opts.purpose}, expires ${parisTime(issued.expiresAt)}; it is shown once:\n`)
        if (opts.json) printJson({ id: issued.id, purpose: opts.purpose, expiresAt: issued.expiresAt, bearerToken: issued.token })
        else process.stdout.write(`${issued.token}\n`)
      } catch (error) {
        if (error instanceof TokenIssueError) {
          process.stderr.write(`passerelle tokens create: ${error.message}\n`)
          process.exitCode = 1
          return
        }
        throw error
      } finally {
        await ctx.close()
      }
    })

  tokens
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .option('--user <email>', 'only this user’s tokens')
    .option('--active', 'only tokens neither expired nor revoked')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { user?: string; active?: boolean; json?: boolean }) => {
      const ctx = await openContext()
      try {
        const now = new Date()
        let userId: number | undefined
        if (opts.user) {
          const user = await findUserByEmail(ctx.db, opts.user)
          if (!user) {
            process.stderr.write('passerelle tokens list: no user has this e-mail\n')
            process.exitCode = 1
            return
          }
          userId = user.id
        }
        const rows = await listApiTokens(ctx.db, { userId, activeAt: opts.active ? now : undefined })
        const status = (t: (typeof rows)[number]) => (t.revokedAt ? 'revoked' : t.expiresAt <= now ? 'expired' : 'active')
        if (opts.json) {
          for (const t of rows) process.stdout.write(`${JSON.stringify({ ...t, status: status(t) })}\n`)
          return
        }
        const iso = parisTimeOrDash
        const lines = [['id', 'status', 'user', 'organisation', 'purpose', 'created', 'expires', 'last used', 'label']]
        for (const t of rows) {
          lines.push([String(t.id), status(t), t.userEmail, t.organisationSiret, t.purpose, iso(t.createdAt), iso(t.expiresAt), iso(t.lastUsedAt), t.label ?? ''])
        }
        const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)))
        for (const l of lines) process.stdout.write(`${l.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`)
      } finally {
        await ctx.close()
      }
    })

  tokens
    .command('revoke')
    .description('revoke a token at once')
    .argument('<id>', 'token id (from tokens list)')
    .action(async (id: string) => {
      if (!/^\d{1,15}$/.test(id)) {
        process.stderr.write('passerelle tokens revoke: the id is a number (see tokens list)\n')
        process.exitCode = 1
        return
      }
      const ctx = await openContext()
      try {
        const done = await revokeApiToken(ctx.db, Number(id), new Date())
        if (!done) {
          process.stderr.write(`passerelle tokens revoke: no unrevoked token ${id}\n`)
          process.exitCode = 1
          return
        }
        process.stdout.write(`token ${id} revoked\n`)
      } finally {
        await ctx.close()
      }
    })
}
