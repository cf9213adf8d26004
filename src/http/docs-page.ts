import { createHash } from 'node:crypto'

/**
 * The interactive documentation page for integrators (GET /docs): one self-contained HTML page, no CDN, no
 * external asset, that works offline. It embeds the OpenAPI document, lists every operation by tag with its
 * parameters, body and responses, renders the schemas, and has a "try it" form that calls the API with the token
 * typed in (kept in the page's memory only). The Content-Security-Policy allows exactly its inline script and
 * style, by hash.
 */
const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1e1e1e;background:#f6f6f6}
header{background:#000091;color:#fff;padding:1.2rem 2rem}header h1{margin:0 0 .3rem;font-size:1.5rem}
header p{margin:.2rem 0;max-width:60rem;opacity:.9}header a{color:#fff}main{padding:1rem 2rem;max-width:72rem}
.auth{background:#fff;border:1px solid #ddd;padding:.8rem 1rem;margin:1rem 0;display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
.auth input{flex:1;min-width:20rem;font-family:ui-monospace,monospace;padding:.35rem}
h2{margin:1.6rem 0 .6rem;border-bottom:2px solid #000091;padding-bottom:.2rem}
details.op{background:#fff;border:1px solid #ddd;margin:.4rem 0;border-radius:4px}
details.op>summary{cursor:pointer;padding:.5rem .8rem;display:flex;gap:.8rem;align-items:center;list-style:none}
.m{font:700 .8rem ui-monospace,monospace;color:#fff;border-radius:3px;padding:.15rem .45rem;min-width:3.6rem;text-align:center}
.get{background:#18753c}.post{background:#0063cb}.patch{background:#b34000}.delete{background:#ce0500}.put{background:#695240}
code,.path{font-family:ui-monospace,monospace}.path{font-weight:600}.sum{color:#555}
.body{padding:.4rem 1rem 1rem;border-top:1px solid #eee}table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{text-align:left;border-bottom:1px solid #eee;padding:.25rem .4rem;vertical-align:top;font-size:.9rem}
th{background:#fafafa}pre{background:#1e1e1e;color:#e8e8e8;padding:.7rem;overflow:auto;max-height:28rem;font-size:.85rem;border-radius:3px}
.try input,.try textarea{font-family:ui-monospace,monospace;width:100%;box-sizing:border-box;padding:.3rem}
.try textarea{min-height:7rem}button{background:#000091;color:#fff;border:0;padding:.45rem 1rem;border-radius:3px;cursor:pointer}
.status{font-weight:700;margin:.4rem 0}.muted{color:#666;font-size:.9rem}
`

const SCRIPT = `
(function(){
var spec=JSON.parse(document.getElementById('openapi').textContent);var token='';
function el(t,a,k){var e=document.createElement(t);if(a)for(var n in a){if(n==='text')e.textContent=a[n];else e.setAttribute(n,a[n]);}
(k||[]).forEach(function(c){if(c!=null)e.appendChild(typeof c==='string'?document.createTextNode(c):c);});return e;}
function ref(s){if(s&&s.$ref){var n=s.$ref.split('/').pop();return spec.components.schemas[n]||{};}return s||{};}
function typeOf(s){if(!s)return '';if(s.$ref)return s.$ref.split('/').pop();if(s.oneOf)return s.oneOf.map(typeOf).join(' | ');
if(s.anyOf)return s.anyOf.map(typeOf).join(' | ');var t=Array.isArray(s.type)?s.type.join(' | '):(s.type||'');
if(t==='array')return typeOf(s.items)+'[]';if(s.enum)return t+' ('+s.enum.join(', ')+')';if(s.format)return t+' ('+s.format+')';return t;}
function example(s,d){s=ref(s);d=d||0;if(d>4)return null;if(s.example!==undefined)return s.example;if(s.enum)return s.enum[0];
if(s.oneOf)return example(s.oneOf[0],d+1);if(s.anyOf)return example(s.anyOf[0],d+1);var t=Array.isArray(s.type)?s.type[0]:s.type;
if(t==='object'||s.properties){var o={};for(var k in (s.properties||{}))o[k]=example(s.properties[k],d+1);return o;}
if(t==='array')return [example(s.items,d+1)];if(t==='integer'||t==='number')return 1;if(t==='boolean')return true;
if(s.format==='date')return '2026-01-31';if(s.format==='uuid')return '00000000-0000-4000-8000-000000000000';if(t==='string')return 'string';return null;}
function propsTable(s){s=ref(s);if(!s.properties)return el('p',{class:'muted',text:typeOf(s)||'object'});var req=s.required||[];
var rows=Object.keys(s.properties).map(function(k){var p=s.properties[k];return el('tr',{},[el('td',{},[el('code',{text:k})]),
el('td',{text:typeOf(p)}),el('td',{text:req.indexOf(k)>=0?'yes':''}),el('td',{text:p.description||''})]);});
return el('table',{},[el('tr',{},[el('th',{text:'name'}),el('th',{text:'type'}),el('th',{text:'required'}),el('th',{text:'description'})])].concat(rows));}
var root=document.getElementById('ops');var tags={};
Object.keys(spec.paths).forEach(function(path){var item=spec.paths[path];Object.keys(item).forEach(function(method){var op=item[method];
var tag=(op.tags&&op.tags[0])||'Autres';(tags[tag]=tags[tag]||[]).push({path:path,method:method,op:op});});});
Object.keys(tags).forEach(function(tag){root.appendChild(el('h2',{text:tag}));tags[tag].forEach(function(x){root.appendChild(operation(x));});});
function operation(x){var op=x.op,params=op.parameters||[],body=op.requestBody&&op.requestBody.content&&op.requestBody.content['application/json'];
var inputs={};var parts=[];if(op.description)parts.push(el('p',{text:op.description}));
if(params.length){parts.push(el('h4',{text:'Parameters'}));parts.push(el('table',{},[el('tr',{},[el('th',{text:'name'}),el('th',{text:'in'}),el('th',{text:'type'}),el('th',{text:'required'}),el('th',{text:'description'})])].concat(
params.map(function(p){var s=p.schema||{};return el('tr',{},[el('td',{},[el('code',{text:p.name})]),el('td',{text:p.in}),el('td',{text:typeOf(s)}),el('td',{text:p.required?'yes':''}),el('td',{text:p.description||s.description||''})]);}))));}
if(body){parts.push(el('h4',{text:'Body'}));parts.push(propsTable(body.schema));}
parts.push(el('h4',{text:'Responses'}));parts.push(el('table',{},Object.keys(op.responses||{}).map(function(code){var r=op.responses[code];
var c=r.content&&r.content['application/json'];return el('tr',{},[el('td',{},[el('code',{text:code})]),el('td',{text:r.description||''}),el('td',{text:c?typeOf(c.schema):''})]);})));
var form=el('div',{class:'try'},[el('h4',{text:'Try it'})]);params.forEach(function(p){var i=el('input',{placeholder:p.name+' ('+p.in+')'+(p.required?' *':'')});inputs[p.in+':'+p.name]=i;form.appendChild(el('label',{},[el('code',{text:p.name}),i]));});
var ta;if(body){ta=el('textarea');ta.value=JSON.stringify(example(body.schema),null,2);form.appendChild(ta);}
var out=el('div');var btn=el('button',{type:'button',text:'Send'});form.appendChild(btn);form.appendChild(out);
btn.addEventListener('click',function(){var url=x.path;var q=[];params.forEach(function(p){var v=inputs[p.in+':'+p.name].value;if(!v)return;
if(p.in==='path')url=url.replace('{'+p.name+'}',encodeURIComponent(v));else if(p.in==='query')q.push(encodeURIComponent(p.name)+'='+encodeURIComponent(v));});
if(q.length)url+='?'+q.join('&');var h={};if(token)h.Authorization='Bearer '+token;var init={method:x.method.toUpperCase(),headers:h};
if(ta){h['Content-Type']='application/json';init.body=ta.value;}out.textContent='…';
fetch(url,init).then(function(r){return r.text().then(function(t){var pretty=t;try{pretty=JSON.stringify(JSON.parse(t),null,2);}catch(e){}
out.textContent='';out.appendChild(el('div',{class:'status',text:init.method+' '+url+' → '+r.status+' '+(r.headers.get('x-request-id')?'(request id '+r.headers.get('x-request-id')+')':'')}));out.appendChild(el('pre',{text:pretty}));});})
.catch(function(e){out.textContent='request failed: '+e.message;});});parts.push(form);
return el('details',{class:'op'},[el('summary',{},[el('span',{class:'m '+x.method,text:x.method.toUpperCase()}),el('span',{class:'path',text:x.path}),el('span',{class:'sum',text:op.summary||''})]),el('div',{class:'body'},parts)]);}
var sc=document.getElementById('schemas');Object.keys((spec.components&&spec.components.schemas)||{}).sort().forEach(function(n){var s=spec.components.schemas[n];
sc.appendChild(el('details',{class:'op'},[el('summary',{},[el('span',{class:'path',text:n}),el('span',{class:'sum',text:s.description||''})]),el('div',{class:'body'},[propsTable(s)].concat(s.oneOf?[el('p',{class:'muted',text:'one of: '+s.oneOf.map(typeOf).join(', ')})]:[]))]));});
document.getElementById('token').addEventListener('input',function(e){token=e.target.value.trim();});
})();
`

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`

export const DOCS_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export function renderDocsPage(document: { info: { title: string; version: string; description?: string } }): string {
  // `<` escaped so the embedded JSON can never close its script element.
  const json = JSON.stringify(document).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} — documentation</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(document.info.title)} <small>v${escapeHtml(document.info.version)}</small></h1>
<p>${escapeHtml(document.info.description ?? '')}</p>
<p>OpenAPI 3.1: <a href="/openapi.json">/openapi.json</a></p></header>
<main>
<div class="auth"><label for="token"><strong>Bearer token</strong></label><input id="token" type="password" autocomplete="off" placeholder="psl_…"><span class="muted">kept in this page only</span></div>
<div id="ops"></div>
<h2>Schemas</h2><div id="schemas"></div>
</main>
<script type="application/json" id="openapi">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>`
}
