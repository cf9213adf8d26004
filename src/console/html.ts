import { escapeHtml } from '../html/escape-html.ts'
import type { Role } from '../purposes/purpose.ts'
import { ROLE_LABELS } from '../register/labels.ts'

/**
 * Server-rendered HTML for the console: a tagged template that escapes every interpolated value (only `Safe` values,
 * built by `h` itself, go in as they are), and the DSFR page layout (skip links, header, navigation, <main>, footer).
 */
export class Safe {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

function render(value: unknown): string {
  if (value instanceof Safe) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === null || value === undefined || value === false) return ''
  return escapeHtml(String(value))
}

export function h(strings: TemplateStringsArray, ...values: unknown[]): Safe {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!
  return new Safe(out)
}

export interface NavItem {
  href: string
  label: string
}

/** The console's sections by role: what each agent's menu shows. */
export function navigationFor(role: Role): NavItem[] {
  switch (role) {
    case 'referent':
    case 'structure-manager':
    case 'instructor':
      return [{ href: '/console/portefeuille', label: 'Mon portefeuille' }]
    case 'dpo':
      return [
        { href: '/console/dpo/demandes', label: 'Demandes de droits' },
        { href: '/console/dpo/journal', label: 'Journal d’audit' },
        { href: '/console/dpo/gels', label: 'Gels juridiques' },
        { href: '/console/dpo/registre', label: 'Registre' },
      ]
    case 'admin':
      return [
        { href: '/console/admin/organisations', label: 'Organisations' },
        { href: '/console/admin/utilisateurs', label: 'Utilisateurs' },
        { href: '/console/admin/affectations', label: 'Affectations' },
        { href: '/console/admin/jetons', label: 'Jetons des logiciels' },
        { href: '/console/admin/executions', label: 'Traitements et imports' },
      ]
    case 'statistician':
      return []
  }
}

export interface PageAgent {
  displayName: string
  role: Role
  organisation: string
  csrfToken: string
}

export function layout(page: { title: string; agent?: PageAgent | undefined; current?: string; body: Safe }): string {
  const agent = page.agent
  const nav = agent ? navigationFor(agent.role) : []
  const skip = [h`<li><a class="fr-link" href="#contenu">Contenu</a></li>`, nav.length > 0 ? h`<li><a class="fr-link" href="#navigation">Menu</a></li>` : '']
  return h`<!doctype html>
<html lang="fr" data-fr-scheme="light">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} — Passerelle</title>
<link rel="stylesheet" href="/console/dsfr/dsfr.min.css">
<link rel="stylesheet" href="/console/dsfr/utility/icons/icons.min.css">
</head>
<body>
<div class="fr-skiplinks"><nav class="fr-container" aria-label="Accès rapide"><ul class="fr-skiplinks__list">${skip}</ul></nav></div>
<header class="fr-header">
<div class="fr-header__body"><div class="fr-container"><div class="fr-header__body-row">
<div class="fr-header__brand fr-enlarge-link">
<div class="fr-header__brand-top"><div class="fr-header__logo"><p class="fr-logo">République<br>Française</p></div></div>
<div class="fr-header__service"><a href="/console" title="Accueil — Passerelle"><p class="fr-header__service-title">Passerelle</p></a><p class="fr-header__service-tagline">Console des agents du RSA</p></div>
</div>
<div class="fr-header__tools"><div class="fr-header__tools-links">
${
  agent
    ? h`<ul class="fr-btns-group"><li><p class="fr-mb-0 fr-mr-2w fr-text--sm"><span class="fr-icon-account-circle-line" aria-hidden="true"></span> ${agent.displayName} — ${ROLE_LABELS[agent.role] ?? agent.role}, ${agent.organisation}</p></li>
<li><form method="post" action="/console/deconnexion"><input type="hidden" name="_csrf" value="${agent.csrfToken}"><button type="submit" class="fr-btn fr-btn--tertiary fr-btn--sm fr-icon-logout-box-r-line fr-btn--icon-left">Se déconnecter</button></form></li></ul>`
    : ''
}
</div></div>
</div></div></div>
${
  nav.length > 0
    ? h`<div class="fr-container"><nav class="fr-nav" id="navigation" aria-label="Menu principal"><ul class="fr-nav__list">${nav.map(
        (item) => h`<li class="fr-nav__item"><a class="fr-nav__link" href="${item.href}"${page.current === item.href ? new Safe(' aria-current="page"') : ''}>${item.label}</a></li>`,
      )}</ul></nav></div>`
    : ''
}
</header>
<main id="contenu" class="fr-container fr-my-4w" tabindex="-1">
${page.body}
</main>
<footer class="fr-footer" id="pied-de-page">
<div class="fr-container"><div class="fr-footer__body">
<div class="fr-footer__brand"><p class="fr-logo">République<br>Française</p></div>
<div class="fr-footer__content"><p class="fr-footer__content-desc">Passerelle — échanges de données du revenu de solidarité active entre le Département, les organismes payeurs et les structures d’accompagnement. Chaque consultation est enregistrée dans le journal d’audit.</p></div>
</div></div>
</footer>
<script type="module" src="/console/dsfr/dsfr.module.min.js"></script>
</body>
</html>`.value
}

/** A DSFR table with a caption; cells are escaped unless built with `h`. */
export function table(caption: string, headers: readonly string[], rows: readonly (readonly unknown[])[], empty = 'Aucun élément.'): Safe {
  if (rows.length === 0) return h`<p>${empty}</p>`
  return h`<div class="fr-table"><div class="fr-table__wrapper"><div class="fr-table__container"><div class="fr-table__content"><table>
<caption>${caption}</caption>
<thead><tr>${headers.map((x) => h`<th scope="col">${x}</th>`)}</tr></thead>
<tbody>${rows.map((r) => h`<tr>${r.map((cell) => h`<td>${cell}</td>`)}</tr>`)}</tbody>
</table></div></div></div></div>`
}

export function alert(kind: 'info' | 'success' | 'warning' | 'error', title: string, text?: string | Safe): Safe {
  return h`<div class="fr-alert fr-alert--${kind} fr-mb-3w"><h2 class="fr-alert__title">${title}</h2>${text ? h`<p>${text}</p>` : ''}</div>`
}

export const csrfField = (token: string): Safe => h`<input type="hidden" name="_csrf" value="${token}">`
