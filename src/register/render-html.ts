import { plural } from '../labels/french-format.ts'
import type { Register, RegisterRetention, RegisterStatistics } from './build-register.ts'
import { escapeHtml as esc } from '../html/escape-html.ts'

/**
 * The register as one standalone, print-friendly French HTML page: inline CSS, no script, no external asset.
 * Every text is escaped; a declared URL becomes a link only when it is http(s).
 */
export function renderRegisterHtml(register: Register): string {
  const purposes = register.purposes
    .map(
      (p, i) => `
<section class="purpose" id="finalite-${esc(p.id)}">
  <h2>${i + 1}. ${esc(p.title)} <code>${esc(p.id)}</code></h2>
  <p>${esc(p.description)}</p>
  <table class="facts">
    <tr><th>Responsable du traitement</th><td>${esc(p.controller.name)} — ${esc(p.controller.contact)}</td></tr>
    <tr><th>Base légale</th><td>${esc(p.legalBasis.gdprLabel)}<br>${esc(p.legalBasis.national)}</td></tr>
    <tr><th>Catégories particulières (art. 9 RGPD)</th><td>${
      p.article9.length ? p.article9.map((a) => `${esc(a.categoryLabel)} : ${esc(a.condition)}`).join('<br>') : 'Aucune'
    }</td></tr>
    <tr><th>Personnes concernées</th><td>${p.dataSubjects.map(esc).join('<br>')}</td></tr>
    <tr><th>Destinataires</th><td>${p.recipients
      .map((r) => `${esc(r.roleLabel)} (${esc(r.organisationTypes.map((t) => t.label).join(', '))})${r.description ? ` : ${esc(r.description)}` : ''}`)
      .join('<br>')}</td></tr>
    <tr><th>Transferts hors UE</th><td>${esc(p.transfers)}</td></tr>
    <tr><th>Flux sources</th><td>${p.sourceFlows.map((f) => `${esc(f.title)} (<code>${esc(f.id)}</code>, ${esc(f.producer)})`).join('<br>')}</td></tr>
    <tr><th>Journalisation des accès</th><td>${esc(p.audit.label)}</td></tr>
    <tr><th>Opposition, effacement</th><td>${
      p.erasable
        ? "La personne peut s'opposer ou demander l'effacement pour cette finalité"
        : 'Traitement obligatoire (mission de service public) : droits d’accès, de rectification et de limitation'
    }</td></tr>
  </table>
  <h3>Données traitées (${esc(plural(p.fieldCount, 'champ'))})</h3>
  <table>
    <thead><tr><th>Catégorie</th><th>Champ</th><th>Identifiant</th><th>Transmis sous</th><th>Traitement</th><th>Flux</th></tr></thead>
    <tbody>${p.categories
      .flatMap((c) =>
        c.fields.map(
          (f) =>
            `<tr${c.article9 ? ' class="art9"' : ''}><td>${esc(c.label)}</td><td>${esc(f.label)}</td><td><code>${esc(f.id)}</code></td><td>${
              f.exposedAs ? `<code>${esc(f.exposedAs)}</code>` : '—'
            }</td><td>${esc(f.transformLabel)}</td><td>${f.flows.map(esc).join(', ')}</td></tr>`,
        ),
      )
      .join('\n    ')}</tbody>
  </table>
  ${p.statistics ? statistics(p.statistics) : ''}
  <h3>Durées de conservation</h3>
  <p>Politique de la finalité :</p>
  ${retention(p.retention)}
  ${p.sourceRetention
    .map((s) =>
      s.retention.policy === p.retention.policy
        ? `<p>Données du flux <code>${esc(s.flow)}</code> : même politique.</p>`
        : `<p>Données du flux <code>${esc(s.flow)}</code> :</p>\n  ${retention(s.retention)}`,
    )
    .join('\n  ')}
</section>`,
    )
    .join('\n')

  const map = register.dataMap
  return `<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(register.title)}</title>
<style>
  @page { size: A4 landscape; margin: 12mm; }
  body { font-family: "Marianne", Arial, Helvetica, sans-serif; font-size: 10.5pt; color: #161616; margin: 2em auto; max-width: 70em; padding: 0 1em; line-height: 1.4; }
  h1 { font-size: 1.6em; border-bottom: 3px solid #000091; padding-bottom: .3em; }
  h2 { font-size: 1.3em; color: #000091; margin-top: 2em; }
  h3 { font-size: 1.1em; margin-top: 1.4em; }
  table { border-collapse: collapse; width: 100%; margin: .6em 0; }
  td, th { overflow-wrap: anywhere; }
  th, td { border: 1px solid #bbb; padding: .25em .45em; text-align: left; vertical-align: top; }
  thead th { background: #eef; }
  table.facts th { width: 16em; background: #f6f6f6; }
  tr.art9 td { background: #fff3e0; }
  td.no { font-weight: bold; color: #a00; }
  /* The data map has one column per purpose: a fixed layout shares the width out, long ids and paths wrap. */
  table.map { table-layout: fixed; }
  table.map td, table.map th { font-size: .8em; padding: .2em .3em; overflow-wrap: anywhere; word-break: break-word; hyphens: auto; }
  table.map col.label { width: 16%; } table.map col.id { width: 15%; } table.map col.element { width: 15%; }
  table.map col.flows { width: 12%; } table.map col.stored { width: 6%; }
  .warning { border-left: 4px solid #b34000; background: #fff4f0; padding: .4em .8em; }
  code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: .9em; }
  .meta { color: #444; }
  @media print {
    body { margin: 0; max-width: none; font-size: 9pt; }
    table.map td, table.map th { font-size: 7pt; }
    section.purpose, section.map { break-before: page; }
    tr, td, th { break-inside: avoid; }
    a { color: inherit; text-decoration: none; }
  }
</style>
</head>
<body>
<main>
<h1>${esc(register.title)}</h1>
<p class="meta">Généré le ${esc(register.generatedOn)} par <code>passerelle register</code> à partir des déclarations (<code>mappings/</code>, <code>flows/</code>, <code>flows/retention/</code>) et de la configuration en cours : ce registre décrit ce que le logiciel fait réellement.</p>
<h2>Responsable du traitement</h2>
<ul>${register.controllers.map((c) => `<li>${esc(c.name)} — ${esc(c.contact)}</li>`).join('')}</ul>
${register.controllerToComplete ? `<p class="warning">${esc(CONTROLLER_TO_COMPLETE)}</p>` : ''}
<h2>Finalités</h2>
<table>
  <thead><tr><th>Finalité</th><th>Base légale</th><th>Destinataires</th><th>Champs</th><th>Conservation (politique)</th></tr></thead>
  <tbody>${register.purposes
    .map(
      (p) =>
        `<tr><td><a href="#finalite-${esc(p.id)}">${esc(p.title)}</a> <code>${esc(p.id)}</code></td><td>${esc(p.legalBasis.gdpr)}</td><td>${esc(
          p.recipients.map((r) => r.roleLabel).join(', '),
        )}</td><td>${p.fieldCount}</td><td>${p.retention.found ? `<code>${esc(p.retention.policy)}</code>` : `politique <code>${esc(p.retention.policy)}</code> (introuvable)`}</td></tr>`,
    )
    .join('\n  ')}</tbody>
</table>
${purposes}
<section class="map">
<h2>Cartographie des données</h2>
<p>Quel flux alimente quel champ, pour quelle finalité. ✓ : valeur transmise telle quelle ; année, département, tranche : valeur généralisée ; interne : utilisé par Passerelle, jamais transmis ; — : non déclaré.</p>
<table class="map">
  <colgroup><col class="label"><col class="id"><col class="element"><col class="flows"><col class="stored">${map.purposes.map(() => '<col>').join('')}</colgroup>
  <thead><tr><th>Champ</th><th>Identifiant</th><th>Élément source</th><th>Flux</th><th>Conservé</th>${map.purposes.map((id) => `<th><code>${esc(id)}</code></th>`).join('')}</tr></thead>
  <tbody>${map.rows
    .map(
      (r) =>
        `<tr><td>${esc(r.label)}</td><td><code>${esc(r.id)}</code></td><td>${esc(r.element)}</td><td>${r.flows.map(esc).join(', ')}</td>${
          r.stored ? `<td>${r.key ? 'oui (clé)' : 'oui'}</td>` : '<td class="no">non</td>'
        }${map.purposes.map((id) => `<td>${esc(r.cells[id] ?? '—')}</td>`).join('')}</tr>`,
    )
    .join('\n  ')}</tbody>
</table>
<h2>Données reçues mais jamais conservées</h2>
${
  register.neverStored.length
    ? `<p>Aucune finalité ne les déclare : Passerelle les lit dans les flux mais ne les écrit jamais en base (minimisation).</p>
<ul>${register.neverStored.map((f) => `<li>${esc(f.label)} (<code>${esc(f.id)}</code>, ${esc(f.element)}, flux ${f.flows.map(esc).join(', ')})</li>`).join('')}</ul>`
    : '<p>Aucune : chaque champ du catalogue est déclaré par au moins une finalité.</p>'
}
${
  register.otherFlows.length
    ? `<h2>Autres flux reçus</h2>
<p>Ces flux n'alimentent aucun champ du catalogue des finalités ci-dessus ; ils servent au fonctionnement de Passerelle (par exemple l'attribution des bénéficiaires aux référents).</p>
${register.otherFlows
  .map((f) => `<h3>${esc(f.title)} <code>${esc(f.id)}</code> (${esc(f.producer)})</h3>\n${f.description ? `<p>${esc(f.description)}</p>\n` : ''}<p>Conservation :</p>\n${retention(f.retention)}`)
  .join('\n')}`
    : ''
}
${
  register.disclosures?.length
    ? `<h2>Destinataires hors de Passerelle (API partenaires)</h2>
${register.disclosures
  .map(
    (d) =>
      `<h3>${esc(d.recipient)} — ${esc(d.flowTitle)} <code>${esc(d.flow)}</code></h3>\n<p>Finalité : ${esc(d.purposeTitle)} (<code>${esc(d.purpose)}</code>). Base légale : ${esc(d.legalBasis)}. Chaque envoi est tracé dans le journal d'audit (pseudonyme de la personne, finalité, résultat).</p>\n<table><thead><tr><th>Catégorie</th><th>Données envoyées</th></tr></thead><tbody>${d.categories.map((c) => `<tr><td>${esc(c.label)}</td><td>${esc(c.detail)}</td></tr>`).join('')}</tbody></table>`,
  )
  .join('\n')}`
    : ''
}
<h2>Conservation des données propres à Passerelle</h2>
${register.systemRetention.map((r) => `<h3>${esc(r.appliesTo ?? r.policy)}</h3>\n${retention(r)}`).join('\n') || '<p>Aucune politique chargée.</p>'}
<h2>Mesures de sécurité</h2>
<ul>${register.security.map((m) => `<li><strong>${esc(m.title)}</strong> : ${esc(m.detail)}</li>`).join('\n')}</ul>
<h2>Transferts hors de l'Union européenne</h2>
<p>${esc(register.transfers)}</p>
</section>
</main>
</body>
</html>
`
}

function statistics(st: RegisterStatistics): string {
  const items = [
    `Pseudonymes à clé propres à chaque destinataire ; k-anonymat : chaque combinaison de quasi-identifiants regroupe au moins ${st.k} personnes, au plus ${Math.round(st.maxSuppressionRate * 1000) / 10} % d'enregistrements supprimés.`,
    `Quasi-identifiants et généralisations possibles : ${st.quasiIdentifiers.map((q) => `${q.column} (${q.levelLabels.join(' → ')})`).join(' ; ')}.`,
    ...(st.sensitive.length ? [`Attributs sensibles : ${st.sensitive.join(', ')}.`] : []),
    ...(st.measures.length ? [`Mesures : ${st.measures.join(', ')}.`] : []),
    `Destinataires des extraits : ${st.recipients.join(', ')}.`,
    ...(st.aggregates.length ? [`Tableaux agrégés (aucune case publiée sous le seuil, secret secondaire) : ${st.aggregates.map((a) => `${a.name} (seuil ${a.threshold})`).join(', ')}.`] : []),
  ]
  return `<h3>Extraits statistiques</h3>\n  <ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`
}

function retention(r: RegisterRetention): string {
  if (!r.found) return `<p>politique <code>${esc(r.policy)}</code> (introuvable : déclarer flows/retention/${esc(r.policy)}.yaml)</p>`
  return `<p><code>${esc(r.policy)}</code> — ${esc(r.title ?? '')}</p>
  <table>
    <thead><tr><th>Phase</th><th>Durée</th><th>Point de départ</th><th>Détail</th></tr></thead>
    <tbody>${r.phases
      .map(
        (ph) =>
          `<tr><td>${esc(ph.label)}</td><td>${esc(ph.durationLabel)}</td><td>${esc(ph.anchorLabel ?? '—')}</td><td>${esc(ph.description)}</td></tr>`,
      )
      .join('')}</tbody>
  </table>${r.archiveKeeps.length ? `\n  <p>L'archive ne garde que : ${esc(r.archiveKeeps.join(', '))}.</p>` : ''}${
    r.sources.length
      ? `\n  <p>Sources : ${r.sources.map((s) => esc(s.text) + (s.url ? ` (${/^https?:\/\//i.test(s.url) ? `<a href="${esc(s.url)}">${esc(s.url)}</a>` : esc(s.url)})` : '')).join(' ; ')}.</p>`
      : ''
  }`
}

export const CONTROLLER_TO_COMPLETE =
  'À compléter : le responsable du traitement déclaré (mappings/controller.yaml) porte encore une adresse d’exemple ; indiquer celle du Département et de son délégué à la protection des données, puis régénérer ce registre.'

