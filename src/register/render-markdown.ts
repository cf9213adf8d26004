import { plural } from '../labels/french-format.ts'
import type { Register, RegisterPurpose, RegisterRetention } from './build-register.ts'
import { CONTROLLER_TO_COMPLETE } from './render-html.ts'

/** The register as Markdown (docs/register.md). Every declared text is escaped: it cannot break the layout. */
export function renderRegisterMarkdown(register: Register): string {
  const out: string[] = []
  const line = (text = '') => out.push(text)

  line(`# ${md(register.title)}`)
  line()
  line(
    `Généré le ${md(register.generatedOn)} par \`passerelle register\` à partir des déclarations (\`mappings/\`, \`flows/\`, ` +
      '`flows/retention/`) et de la configuration en cours : ce registre décrit ce que le logiciel fait réellement. ' +
      'Ne pas le modifier à la main : modifier les déclarations, puis le régénérer.',
  )
  line()
  line('## Responsable du traitement')
  line()
  for (const c of register.controllers) line(`- ${md(c.name)} — ${md(c.contact)}`)
  line()
  if (register.controllerToComplete) {
    line(`> **${md(CONTROLLER_TO_COMPLETE)}**`)
    line()
  }
  line('## Finalités')
  line()
  line('| Finalité | Base légale | Destinataires | Champs | Conservation |')
  line('|---|---|---|---|---|')
  for (const p of register.purposes) {
    line(
      `| [${md(p.title)}](#${anchor(p)}) (${code(p.id)}) | ${md(p.legalBasis.gdpr)} | ${md(p.recipients.map((r) => r.roleLabel).join(', '))} | ${p.fieldCount} | ${retentionSummary(p.retention)} |`,
    )
  }
  line()

  register.purposes.forEach((p, i) => {
    line(`<a id="${anchor(p)}"></a>`)
    line()
    line(`## ${i + 1}. ${md(p.title)} (${code(p.id)})`)
    line()
    line(md(p.description))
    line()
    line('| Rubrique | Contenu |')
    line('|---|---|')
    line(`| Responsable du traitement | ${md(p.controller.name)} — ${md(p.controller.contact)} |`)
    line(`| Base légale | ${md(p.legalBasis.gdprLabel)} ; ${md(p.legalBasis.national)} |`)
    line(
      `| Catégories particulières (art. 9 RGPD) | ${
        p.article9.length ? p.article9.map((a) => `${md(a.categoryLabel)} : ${md(a.condition)}`).join('<br>') : 'Aucune'
      } |`,
    )
    line(`| Personnes concernées | ${p.dataSubjects.map(md).join('<br>')} |`)
    line(
      `| Destinataires | ${p.recipients
        .map((r) => `${md(r.roleLabel)} (${md(r.organisationTypes.map((t) => t.label).join(', '))})${r.description ? ` : ${md(r.description)}` : ''}`)
        .join('<br>')} |`,
    )
    line(`| Transferts hors UE | ${md(p.transfers)} |`)
    line(`| Flux sources | ${p.sourceFlows.map((f) => `${md(f.title)} (${code(f.id)}, ${md(f.producer)})`).join('<br>')} |`)
    line(`| Journalisation des accès | ${md(p.audit.label)} |`)
    line(`| Opposition, effacement | ${p.erasable ? "La personne peut s'opposer ou demander l'effacement pour cette finalité" : 'Traitement obligatoire (mission de service public) : droits d’accès, de rectification et de limitation'} |`)
    line()
    line(`### Données traitées (${plural(p.fieldCount, 'champ')})`)
    line()
    line('| Catégorie | Champ | Identifiant | Transmis sous | Traitement | Flux |')
    line('|---|---|---|---|---|---|')
    for (const c of p.categories) {
      for (const f of c.fields) {
        line(
          `| ${md(c.label)} | ${md(f.label)} | ${code(f.id)} | ${f.exposedAs ? code(f.exposedAs) : '—'} | ${md(f.transformLabel)} | ${f.flows.map(code).join(', ')} |`,
        )
      }
    }
    line()
    if (p.statistics) {
      const st = p.statistics
      line('### Extraits statistiques')
      line()
      line(`- Pseudonymes à clé propres à chaque destinataire ; k-anonymat : chaque combinaison de quasi-identifiants regroupe au moins ${st.k} personnes, au plus ${Math.round(st.maxSuppressionRate * 1000) / 10} % d'enregistrements supprimés.`)
      line(`- Quasi-identifiants et généralisations possibles : ${st.quasiIdentifiers.map((q) => `${code(q.column)} (${md(q.levelLabels.join(' → '))})`).join(' ; ')}.`)
      if (st.sensitive.length) line(`- Attributs sensibles : ${st.sensitive.map(code).join(', ')}.`)
      if (st.measures.length) line(`- Mesures : ${st.measures.map(code).join(', ')}.`)
      line(`- Destinataires des extraits : ${md(st.recipients.join(', '))}.`)
      if (st.aggregates.length) line(`- Tableaux agrégés (aucune case publiée sous le seuil, secret secondaire) : ${st.aggregates.map((a) => `${code(a.name)} (seuil ${a.threshold})`).join(', ')}.`)
      line()
    }
    line('### Durées de conservation')
    line()
    line(`Politique de la finalité : ${retentionBlock(p.retention)}`)
    line()
    const others = p.sourceRetention.filter((s) => s.retention.policy !== p.retention.policy)
    const same = p.sourceRetention.filter((s) => s.retention.policy === p.retention.policy)
    if (same.length) line(`Données des flux ${same.map((s) => code(s.flow)).join(', ')} : même politique.`)
    for (const s of others) {
      line()
      line(`Données du flux ${code(s.flow)} : ${retentionBlock(s.retention)}`)
    }
    line()
  })

  line('## Cartographie des données')
  line()
  line(
    'Quel flux alimente quel champ, pour quelle finalité. ✓ : valeur transmise telle quelle ; année, département, tranche : valeur généralisée ; ' +
      'interne : utilisé par Passerelle, jamais transmis ; — : non déclaré. Un champ conservé est soit déclaré par une finalité, soit une clé de ' +
      'rapprochement, de provenance ou de conservation.',
  )
  line()
  line(`| Champ | Identifiant | Élément source | Flux | Conservé | ${register.dataMap.purposes.map(code).join(' | ')} |`)
  line(`|---|---|---|---|---|${register.dataMap.purposes.map(() => '---').join('|')}|`)
  for (const r of register.dataMap.rows) {
    line(
      `| ${md(r.label)} | ${code(r.id)} | ${md(r.element)} | ${r.flows.map(code).join(', ')} | ${r.key ? 'oui (clé)' : r.stored ? 'oui' : '**non**'} | ${register.dataMap.purposes
        .map((id) => md(r.cells[id] ?? '—'))
        .join(' | ')} |`,
    )
  }
  line()
  line('## Données reçues mais jamais conservées')
  line()
  if (register.neverStored.length === 0) line('Aucune : chaque champ du catalogue est déclaré par au moins une finalité.')
  else {
    line('Aucune finalité ne les déclare : Passerelle les lit dans les flux mais ne les écrit jamais en base (minimisation).')
    line()
    for (const f of register.neverStored) line(`- ${md(f.label)} (${code(f.id)}, ${md(f.element)}, flux ${f.flows.map(code).join(', ')})`)
  }
  line()
  if (register.otherFlows.length) {
    line('## Autres flux reçus')
    line()
    line("Ces flux n'alimentent aucun champ du catalogue des finalités ci-dessus ; ils servent au fonctionnement de Passerelle (par exemple l'attribution des bénéficiaires aux référents).")
    line()
    for (const f of register.otherFlows) {
      line(`### ${md(f.title)} (${code(f.id)}, ${md(f.producer)})`)
      line()
      if (f.description) line(md(f.description))
      line()
      line(`Conservation : ${retentionBlock(f.retention)}`)
      line()
    }
  }
  if (register.disclosures?.length) {
    line('## Destinataires hors de Passerelle (API partenaires)')
    line()
    for (const d of register.disclosures) {
      line(`### ${md(d.recipient)} — ${md(d.flowTitle)} (${code(d.flow)})`)
      line()
      line(`Finalité : ${md(d.purposeTitle)} (${code(d.purpose)}). Base légale : ${md(d.legalBasis)}. Chaque envoi est tracé dans le journal d'audit (pseudonyme de la personne, finalité, résultat).`)
      line()
      line('| Catégorie | Données envoyées |')
      line('|---|---|')
      for (const c of d.categories) line(`| ${md(c.label)} | ${md(c.detail)} |`)
      line()
    }
  }
  line('## Conservation des données propres à Passerelle')
  line()
  if (register.systemRetention.length === 0) line('Aucune politique chargée.')
  for (const r of register.systemRetention) {
    line(`### ${md(r.appliesTo ?? r.policy)}`)
    line()
    line(retentionBlock(r))
    line()
  }
  line('## Mesures de sécurité')
  line()
  for (const m of register.security) line(`- **${md(m.title)}** : ${md(m.detail)}`)
  line()
  line("## Transferts hors de l'Union européenne")
  line()
  line(md(register.transfers))
  line()
  return out.join('\n')
}

function retentionSummary(r: RegisterRetention): string {
  if (!r.found) return `politique ${code(r.policy)} (introuvable)`
  return `${code(r.policy)} : ${r.phases
    .filter((ph) => ph.phase !== 'destroy')
    .map((ph) => `${md(ph.label.toLowerCase())} ${md(ph.durationLabel)}`)
    .join(', ')}`
}

function retentionBlock(r: RegisterRetention): string {
  if (!r.found) return `politique ${code(r.policy)} (introuvable : déclarer flows/retention/${md(r.policy)}.yaml)`
  const lines = [`${code(r.policy)} — ${md(r.title ?? '')}`, '', '| Phase | Durée | Point de départ | Détail |', '|---|---|---|---|']
  for (const ph of r.phases) {
    lines.push(`| ${md(ph.label)} | ${md(ph.durationLabel)} | ${md(ph.anchorLabel ?? '—')} | ${md(ph.description)} |`)
  }
  if (r.archiveKeeps.length) lines.push('', `L'archive ne garde que : ${md(r.archiveKeeps.join(', '))}.`)
  if (r.sources.length) lines.push('', `Sources : ${r.sources.map((s) => md(s.text) + (s.url ? ` (${md(s.url)})` : '')).join(' ; ')}.`)
  return lines.join('\n')
}

function anchor(p: RegisterPurpose): string {
  return `finalite-${p.id.replace(/[^a-z0-9-]/g, '')}`
}

/** Markdown-safe text on one line: table pipes, emphasis, links and HTML cannot be injected. */
export function md(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*_[\]|#]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/\|/g, '\\|').replace(/\s+/g, ' ')}\``
}
