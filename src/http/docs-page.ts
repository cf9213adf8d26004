import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { escapeHtml } from '../html/escape-html.ts'

/**
 * The documentation page for integrators (GET /docs), in French. The interactive part is Swagger UI
 * (`swagger-ui-dist`, a maintained renderer: parameters with their enums as lists, Markdown rendered, "Try it out"
 * and request snippets), served by this process from node_modules under /docs/assets/: no CDN, works offline. Its
 * configuration is a static file (/docs/assets/docs-init.js), so the Content-Security-Policy allows scripts from
 * this origin only, never inline script.
 *
 * Without JavaScript the page still reads: a server-rendered list of every operation (method, path, operationId,
 * French summary) by tag, and a link to the OpenAPI document. The page has a <main> landmark and headings in order
 * (h1, then h2 per part, h3 per tag). Swagger UI's own interface (buttons, "Try it out") stays in English: it has
 * no translation.
 */
const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))

const OWN_STYLE = `
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#161616;background:#fff}
.lien-evitement{position:absolute;left:-999px}.lien-evitement:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:10}
header.entete{background:#000091;color:#fff;padding:1.2rem 2rem}header.entete h1{margin:0 0 .3rem;font-size:1.6rem}
header.entete p{margin:.2rem 0;max-width:60rem}header.entete a{color:#fff}
main{padding:0 2rem 2rem;max-width:80rem}main>h2{margin:1.6rem 0 .6rem;border-bottom:2px solid #000091;padding-bottom:.2rem}
.sommaire table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}
.sommaire th,.sommaire td{text-align:left;border-bottom:1px solid #ddd;padding:.3rem .5rem;vertical-align:top}
.sommaire th{background:#f6f6f6}.sommaire code{font-family:ui-monospace,monospace}
.methode{font:700 .85rem ui-monospace,monospace}
`

const INIT_SCRIPT = `
// Swagger UI draws form fields without a label (axe: critical \`label\`): each one gets an accessible name, in French,
// from its parameter row, its role in the page, or its placeholder, as soon as it appears.
var NAMES = {
  'examples-select-element': 'Exemple',
  'content-type': 'Type de contenu',
  'body-param-content-type': 'Type de contenu du corps',
  'response-control-media-type__accept': 'Type de contenu de la réponse',
  'operation-filter-input': 'Filtrer les opérations',
  'body-param__text': 'Corps de la requête (JSON)'
};
function nameOf(field) {
  var row = field.closest('[data-param-name]');
  if (row) return 'Paramètre ' + row.getAttribute('data-param-name') + (row.getAttribute('data-param-in') ? ' (' + row.getAttribute('data-param-in') + ')' : '');
  for (var cls in NAMES) if (field.classList.contains(cls) || (field.parentElement && field.parentElement.classList.contains(cls))) return NAMES[cls];
  if (field.getAttribute('placeholder')) return field.getAttribute('placeholder');
  if (field.tagName === 'TEXTAREA') return 'Texte';
  return field.tagName === 'SELECT' ? 'Choix' : 'Valeur';
}
function labelFields(root) {
  var fields = root.querySelectorAll('input, select, textarea');
  for (var i = 0; i < fields.length; i++) {
    var f = fields[i];
    if (f.getAttribute('aria-label') || f.getAttribute('aria-labelledby') || f.closest('label') || (f.id && document.querySelector('label[for="' + f.id + '"]'))) continue;
    f.setAttribute('aria-label', nameOf(f));
  }
}
window.addEventListener('load', function () {
  var root = document.getElementById('swagger-ui');
  new MutationObserver(function () { labelFields(root); }).observe(root, { childList: true, subtree: true });
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    // The page has its own title (h1) and introduction: Swagger UI's would be a second h1.
    plugins: [function () { return { components: { InfoContainer: function () { return null } } } }],
    layout: 'BaseLayout',
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    displayOperationId: true,
    displayRequestDuration: true,
    requestSnippetsEnabled: true,
    showExtensions: true,
    persistAuthorization: false,
    validatorUrl: null,
    withCredentials: false
  });
});
`

interface Asset {
  body: string | Uint8Array
  type: string
}

let assets: Map<string, Asset> | undefined

/** The files /docs/assets/<name> serves (read once, on first use). */
export function docsAsset(name: string): Asset | undefined {
  assets ??= new Map<string, Asset>([
    ['swagger-ui.css', { body: readFileSync(join(swaggerDir, 'swagger-ui.css')), type: 'text/css; charset=utf-8' }],
    ['swagger-ui-bundle.js', { body: readFileSync(join(swaggerDir, 'swagger-ui-bundle.js')), type: 'text/javascript; charset=utf-8' }],
    ['docs.css', { body: OWN_STYLE, type: 'text/css; charset=utf-8' }],
    ['docs-init.js', { body: INIT_SCRIPT, type: 'text/javascript; charset=utf-8' }],
  ])
  return assets.get(name)
}

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes on the elements it draws.
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')


const METHODS = ['get', 'post', 'put', 'patch', 'delete']

interface DocsDocument {
  info: { title: string; version: string; description?: string }
  tags?: { name: string; description?: string }[]
  paths: Record<string, Record<string, { operationId?: string; summary?: string; tags?: string[] }>>
}

/** The operations by tag, as a table per tag (what the page shows without JavaScript). */
function operationsIndex(document: DocsDocument): string {
  const byTag = new Map<string, { method: string; path: string; operationId: string; summary: string }[]>()
  for (const tag of document.tags ?? []) byTag.set(tag.name, [])
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = item[method]
      if (!op) continue
      const tag = op.tags?.[0] ?? 'Autres'
      if (!byTag.has(tag)) byTag.set(tag, [])
      byTag.get(tag)!.push({ method, path, operationId: op.operationId ?? '', summary: op.summary ?? '' })
    }
  }
  return [...byTag]
    .filter(([, ops]) => ops.length > 0)
    .map(
      ([tag, ops]) => `<h3>${escapeHtml(tag)}</h3>
<table>
<caption class="lien-evitement">Opérations : ${escapeHtml(tag)}</caption>
<thead><tr><th scope="col">Méthode</th><th scope="col">Chemin</th><th scope="col">operationId</th><th scope="col">Résumé</th></tr></thead>
<tbody>
${ops
  .map(
    (o) =>
      `<tr><td class="methode">${o.method.toUpperCase()}</td><td><code>${escapeHtml(o.path)}</code></td><td><code>${escapeHtml(o.operationId)}</code></td><td>${escapeHtml(o.summary)}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`,
    )
    .join('\n')
}

export function renderDocsPage(document: DocsDocument): string {
  const title = escapeHtml(document.info.title)
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — documentation</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="stylesheet" href="/docs/assets/docs.css">
</head>
<body>
<a class="lien-evitement" href="#contenu">Aller au contenu</a>
<header class="entete">
<h1>${title} <small>version ${escapeHtml(document.info.version)}</small></h1>
<p>Document OpenAPI 3.1 (pour générer un client) : <a href="/openapi.json">/openapi.json</a></p>
</header>
<main id="contenu">
<h2>Documentation interactive</h2>
<noscript><p>Cette partie demande JavaScript. Sans lui, le sommaire ci-dessous liste chaque opération, et le document <a href="/openapi.json">/openapi.json</a> décrit tout (paramètres, réponses, exemples).</p></noscript>
<div id="swagger-ui"></div>
<h2>Sommaire des opérations</h2>
<div class="sommaire">
${operationsIndex(document)}
</div>
</main>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs-init.js"></script>
</body>
</html>`
}
