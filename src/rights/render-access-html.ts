import type { AccessExport, ExportItem, ExportSource, PurposeView } from './access-export.ts'
import { escapeHtml as esc } from '../html/escape-html.ts'
import { frenchDate, htmlPage } from './html-page.ts'
import { OUTCOME_LABELS, REQUEST_TYPE_LABELS } from './labels.ts'
import { isOutcome, isRequestType } from './rights-request.ts'

/**
 * The access export as one standalone French page the DPO can send or print: what is held, where it comes from,
 * what each purpose sees, who accessed the file, and the person's other rights. Every value is escaped.
 */
const src = (s: ExportSource) => `${esc(s.flow)}`
const when = (s: ExportSource) => esc(frenchDate(s.transmittedAt))

function itemTable(items: readonly ExportItem[]): string {
  if (items.length === 0) return '<p class="muted">Aucune donnée.</p>'
  return items
    .map(
      (i) => `
<h3>${esc(i.title)}</h3>
<p class="muted">Source : ${src(i.source)} — transmis le ${when(i.source)}</p>
<table>
  <thead><tr><th>Donnée</th><th>Valeur</th></tr></thead>
  <tbody>${i.fields
    .map((f) => `<tr${f.contested ? ' class="contested"' : ''}><td>${esc(f.label)}${f.contested ? ' <em>(contestée)</em>' : ''}</td><td>${esc(f.display)}</td></tr>`)
    .join('')}</tbody>
</table>`,
    )
    .join('\n')
}

function purposeSection(p: PurposeView): string {
  const head = `
<h3>${esc(p.title)}</h3>
<table class="meta">
  <tr><th>Objet</th><td>${esc(p.description)}</td></tr>
  <tr><th>Base légale</th><td>${esc(p.legalBasis.label)}<br>${esc(p.legalBasis.national)}</td></tr>
  <tr><th>Destinataires</th><td>${p.recipients.map(esc).join('<br>')}</td></tr>
  <tr><th>Opposition, effacement</th><td>${p.erasable ? 'Possibles pour cette finalité' : 'Non applicables : traitement imposé par les textes ci-dessus'}</td></tr>
</table>`
  if (p.opposed) return `${head}<p class="note">Vous vous êtes opposé(e) à cette finalité : elle ne traite plus vos données.</p>`
  if (p.limited) return `${head}<p class="note">Le traitement de vos données est limité : cette finalité ne les traite pas tant que la limitation dure.</p>`
  if (p.records.length === 0) return `${head}<p class="muted">Cette finalité ne voit aucune donnée vous concernant.</p>`
  return (
    head +
    p.records
      .map(
        (r) => `
<p><strong>${r.place === 'archive' ? 'Archive intermédiaire' : 'Base active'}${r.dossier ? ` — dossier ${esc(r.dossier)}` : ''}</strong></p>
<table>
  <thead><tr><th>Donnée</th><th>Transmise sous le nom</th><th>Valeur vue</th><th>Source</th><th>Transmis le</th></tr></thead>
  <tbody>${r.fields
    .map((f) => `<tr><td>${esc(f.label)}</td><td><code>${esc(f.name)}</code></td><td>${esc(f.display)}</td><td>${src(f.source)}</td><td>${when(f.source)}</td></tr>`)
    .join('')}</tbody>
</table>`,
      )
      .join('')
  )
}

export function renderAccessHtml(x: AccessExport): string {
  const active = x.data.filter((i) => i.place === 'active')
  const archived = x.data.filter((i) => i.place === 'archive')
  const type = isRequestType(x.request.type) ? REQUEST_TYPE_LABELS[x.request.type] : x.request.type
  const body = `
<h1>Réponse à votre demande d'accès à vos données</h1>
<table class="meta">
  <tr><th>Demande</th><td>n° ${esc(x.request.id)} — ${esc(type)}</td></tr>
  <tr><th>Reçue le</th><td>${esc(frenchDate(x.request.receivedOn))}</td></tr>
  <tr><th>Échéance de réponse</th><td>${esc(frenchDate(x.request.deadline))}</td></tr>
  <tr><th>Document établi le</th><td>${esc(frenchDate(x.generatedAt))}</td></tr>
  ${x.controller ? `<tr><th>Responsable du traitement</th><td>${esc(x.controller.name)}<br>${esc(x.controller.contact)}</td></tr>` : ''}
  <tr><th>Origine des données</th><td>${x.sources.length ? x.sources.map(esc).join('<br>') : '—'}</td></tr>
</table>
<p class="note">Passerelle est la plateforme d'échange par laquelle le Département reçoit les données de la CAF, de la MSA et de France Travail sur les bénéficiaires du RSA et les met à disposition des organismes qui les accompagnent. Ce document présente toutes les données qu'elle détient sur vous, d'où elles viennent, ce que chaque finalité en voit, et qui les a consultées.</p>
${x.found ? '' : '<p><strong>Passerelle ne détient aucune donnée vous concernant.</strong></p>'}

<h2>1. Les données détenues sur vous</h2>
${itemTable(active)}

<h2>2. Les données archivées</h2>
<p class="muted">L'archive intermédiaire conserve, pour la durée légale, les données des droits clos ; elle n'est accessible qu'en cas de contentieux, sur demande motivée et tracée.</p>
${itemTable(archived)}

<h2>3. Ce que voit chaque finalité</h2>
${x.purposes.length ? x.purposes.map(purposeSection).join('\n') : '<p class="muted">Aucune.</p>'}

<h2>4. Historique des changements d'état</h2>
${
  x.stateChanges.length
    ? `<table><thead><tr><th>Donnée</th><th>Avant</th><th>Après</th><th>Date d'effet</th><th>Source</th><th>Transmis le</th></tr></thead><tbody>${x.stateChanges
        .map(
          (s) =>
            `<tr><td>${esc(s.field)}${s.place === 'archive' ? ' <em>(archive)</em>' : ''}</td><td>${esc(s.fromDisplay)}</td><td>${esc(s.toDisplay)}</td><td>${esc(frenchDate(s.effectiveDate))}</td><td>${src(s.source)}</td><td>${when(s.source)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">Aucun.</p>'
}

<h2>5. Votre accompagnement et les mesures en cours</h2>
<h3>Organismes chargés de votre suivi</h3>
${
  x.assignments.length
    ? `<table><thead><tr><th>Organisme</th><th>Du</th><th>Au</th></tr></thead><tbody>${x.assignments
        .map((a) => `<tr><td>${esc(a.organisation)}</td><td>${esc(frenchDate(a.startsOn))}</td><td>${esc(frenchDate(a.endsOn))}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="muted">Aucun.</p>'
}
<h3>Limitations du traitement</h3>
${
  x.limitations.length
    ? `<ul>${x.limitations.map((l) => `<li>depuis le ${esc(frenchDate(l.since))}${l.liftedAt ? `, levée le ${esc(frenchDate(l.liftedAt))}` : ' (en cours)'}</li>`).join('')}</ul>`
    : '<p class="muted">Aucune.</p>'
}
<h3>Enregistrements de France Travail en attente de rapprochement</h3>
${
  x.queuedRecords.length
    ? `<p class="muted">Un fichier de France Travail sans numéro de sécurité sociale a nommé une personne de votre nom, prénom et date de naissance ; l'enregistrement (ces trois données et celles de l'inscription) est conservé en attente de la décision d'un agent.</p><ul>${x.queuedRecords
        .map(
          (q) =>
            `<li>${esc(q.flow)}, reçu le ${esc(frenchDate(q.transmittedAt.slice(0, 10)))} — ${
              q.state === 'linked' ? 'rattaché à votre dossier' : q.state === 'discarded' ? 'écarté' : 'en attente'
            }${q.possiblyOther ? ' (plusieurs personnes portent cette identité : il peut concerner un homonyme)' : ''}</li>`,
        )
        .join('')}</ul>`
    : '<p class="muted">Aucun.</p>'
}
<h3>Oppositions enregistrées</h3>
${x.oppositions.length ? `<ul>${x.oppositions.map((o) => `<li>${esc(o.title)} — depuis le ${esc(frenchDate(o.since))}</li>`).join('')}</ul>` : '<p class="muted">Aucune.</p>'}
<h3>Vos demandes</h3>
${
  x.requests.length
    ? `<table><thead><tr><th>N°</th><th>Droit exercé</th><th>Reçue le</th><th>État</th></tr></thead><tbody>${x.requests
        .map(
          (r) =>
            `<tr><td>${esc(r.id)}</td><td>${esc(isRequestType(r.type) ? REQUEST_TYPE_LABELS[r.type] : r.type)}</td><td>${esc(frenchDate(r.receivedOn))}</td><td>${
              r.state === 'open' ? 'en cours' : esc(r.outcome && isOutcome(r.outcome) ? OUTCOME_LABELS[r.outcome] : 'close')
            }</td></tr>`,
        )
        .join('')}</tbody></table>`
    : ''
}

<h2>6. Qui a consulté votre dossier</h2>
<p class="muted">Chaque consultation de vos données par un organisme partenaire est enregistrée dans un journal infalsifiable. Sont indiqués l'organisme, la finalité et la date ; l'identité des agents, et ce qui concerne d'autres personnes, n'y figurent pas.</p>
${
  x.accessHistory.length
    ? `<table><thead><tr><th>Date</th><th>Organisme</th><th>Finalité</th><th>Opération</th><th>Résultat</th></tr></thead><tbody>${x.accessHistory
        .map(
          (e) =>
            `<tr><td>${esc(frenchDate(e.at))}</td><td>${esc(e.organisation)}${e.organisationType ? `<br><span class="muted">${esc(e.organisationType)}</span>` : ''}</td><td>${esc(e.purposeTitle ?? '—')}</td><td>${esc(e.nature)}</td><td>${esc(e.outcomeLabel)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">Aucune consultation enregistrée.</p>'
}

<h2>7. Vos droits</h2>
<ul>
  <li>Rectification (art. 16 RGPD) : la CAF, la MSA et France Travail sont les sources de ces données ; le Département leur transmet votre demande et la correction revient par leurs envois.</li>
  <li>Limitation (art. 18) : pendant l'examen d'une contestation, vos données peuvent être gelées ; elles sont conservées mais plus utilisées.</li>
  <li>Opposition et effacement (art. 17 et 21) : possibles pour les finalités qui l'indiquent ci-dessus ; les traitements imposés par la loi au Département ne peuvent pas être effacés avant la fin de leur durée de conservation.</li>
  <li>Vous pouvez introduire une réclamation auprès de la CNIL (www.cnil.fr) et former un recours devant le juge.</li>
</ul>`
  return htmlPage(`Réponse à la demande d'accès n° ${x.request.id}`, body)
}
