import { escapeHtml as esc } from '../html/escape-html.ts'

export { frenchDate } from '../labels/french-format.ts'

/*
 * The standalone French HTML pages of data-subject requests (access export, rectification notice): inline CSS,
 * no script, no external asset, print-friendly. Every text goes through escapeHtml.
 */

const CSS = `
  body { font-family: "Marianne", "Segoe UI", Arial, sans-serif; margin: 2rem auto; max-width: 60rem; color: #161616; line-height: 1.45; }
  h1 { font-size: 1.6rem; border-bottom: 3px solid #000091; padding-bottom: .3rem; }
  h2 { font-size: 1.25rem; margin-top: 2rem; color: #000091; }
  h3 { font-size: 1.05rem; margin-top: 1.2rem; }
  table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
  th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }
  th { background: #f0f0f7; }
  .meta th { width: 16rem; }
  .muted { color: #666; }
  .contested { background: #fff4e5; }
  .note { border-left: 4px solid #000091; padding: .3rem .8rem; background: #f6f6fb; }
  @media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; } }
`

export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="robots" content="noindex">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}
