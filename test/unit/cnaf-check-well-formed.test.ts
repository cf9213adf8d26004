import { XMLValidator } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import { checkWellFormed, type SkipCollector } from '../../src/ingestion/cnaf/check-well-formed.ts'

describe('checkWellFormed', () => {
  it.each([
    ['a simple element', '<A><B>x</B><C/><D></D></A>'],
    ['attributes in both quote styles', `<A a="1" b='2' c = "x'y" d='x"y'><B e="&amp;&#233;&#xE9;"/></A>`],
    ['comments, CDATA and processing instructions', '<A><!-- c - d --><!----><![CDATA[ <x> & ]] ]]><?pi data?><?pi?></A>'],
    ['the five predefined entities and character references', '<A>&lt;&gt;&amp;&quot;&apos;&#65;&#x1F600;</A>'],
    ['whitespace and misc around the element', '\n <!-- before --> <A/> <?after?> \n'],
    ['end tags with whitespace before >', '<A><B>x</B  ></A\n>'],
    ['non-ASCII names and text', '<Élément attribut-é="ü">Œuvre ’ € 😀</Élément>'],
    ['">" in text', '<A>a > b</A>'],
  ])('accepts %s', (_, text) => {
    expect(checkWellFormed(text, 'element')).toBeUndefined()
  })

  it.each([
    ['a mismatched end tag', '<A><B>x</C></A>', 'end tag does not match start tag <B>'],
    ['an end tag that only starts like the open one', '<A><B>x</Bx></A>', 'end tag does not match start tag <B>'],
    ['an unclosed element', '<A><B>x</A>', 'end tag does not match start tag <B>'],
    ['an element never closed', '<A><B>x</B>', 'element <A> not closed'],
    ['an end tag without start', '<A></A></B>', 'end tag with no matching start tag'],
    ['two root elements', '<A/><B/>', 'second element after the root element'],
    ['text after the root', '<A/>x', 'text after the root element'],
    ['text before the root', 'x<A/>', 'text before the root element'],
    ['an undeclared entity', '<A>&nbsp;</A>', '"&" does not start a predefined entity or character reference'],
    ['a bare ampersand', '<A>a & b</A>', '"&" does not start a predefined entity or character reference'],
    ['a reference to an illegal character', '<A>&#0;</A>', '"&" does not start a predefined entity or character reference'],
    ['an unterminated reference', '<A>&amp</A>', '"&" does not start a predefined entity or character reference'],
    ['"--" in a comment', '<A><!-- a -- b --></A>', '"--" inside a comment'],
    ['a comment ending in --->', '<A><!-- a ---></A>', '"--" inside a comment'],
    ['an unclosed comment', '<A><!-- a </A>', 'comment not closed'],
    ['an unclosed CDATA section', '<A><![CDATA[ a </A>', 'CDATA section not closed'],
    ['"]]>" in text', '<A>a ]]> b</A>', '"]]>" in text'],
    ['a repeated attribute', '<A a="1" a="2"/>', 'attribute a repeated in <A>'],
    ['an unquoted attribute', '<A a=1/>', 'attribute a of <A> is not quoted'],
    ['an attribute without value', '<A a/>', 'attribute a of <A> has no value'],
    ['attributes without a space between', '<A a="1"b="2"/>', 'missing space before an attribute of <A>'],
    ['"<" in an attribute value', '<A a="<"/>', '"<" in the value of attribute a of <A>'],
    ['a name starting with a digit', '<1A/>', '"<" does not start a tag'],
    ['a space after <', '< A/>', '"<" does not start a tag'],
    ['an XML declaration inside', '<A><?xml version="1.0"?></A>', 'XML declaration not at the start of the document'],
    ['a NUL character', '<A>\u0000</A>', 'character not allowed in XML'],
    ['a vertical tab', '<A>\u000B</A>', 'character not allowed in XML'],
    ['U+FFFF', '<A>\uFFFF</A>', 'character not allowed in XML'],
    ['a lone surrogate', '<A>\uD800</A>', 'character not allowed in XML'],
    ['no element', '   ', 'no element'],
  ])('rejects %s', (_, text, reason) => {
    expect(checkWellFormed(text, 'element')).toMatchObject({ rule: 'not_well_formed', reason })
  })

  it.each(['<!DOCTYPE A>', '<!DOCTYPE A [<!ENTITY x "y">]>', '<!ENTITY x "y">', '<!ELEMENT A ANY>'])('refuses the markup declaration %s', (decl) => {
    expect(checkWellFormed(`<A>${decl}</A>`, 'element')).toMatchObject({ rule: 'doctype_refused' })
    expect(checkWellFormed(decl, 'misc')).toMatchObject({ rule: 'doctype_refused' })
  })

  it('catches faults that fast-xml-parser’s own validator lets through', () => {
    for (const text of ['<A>&nbsp;</A>', '<A><!-- a -- b --></A>', '<A a="<"/>', '<A>a ]]> b</A>', '<A>\u0001</A>']) {
      expect(XMLValidator.validate(text)).toBe(true)
      expect(checkWellFormed(text, 'element')).toBeDefined()
    }
  })

  it('in misc mode accepts only whitespace, comments and processing instructions', () => {
    expect(checkWellFormed(' <!-- a --> <?pi x?>\n', 'misc')).toBeUndefined()
    expect(checkWellFormed('', 'misc')).toBeUndefined()
    expect(checkWellFormed('<!-- a --><B/>', 'misc')).toMatchObject({ reason: 'element where only comments and processing instructions may appear' })
    expect(checkWellFormed('x', 'misc')).toMatchObject({ reason: 'text before the root element' })
  })

  it('gives the offset of the fault', () => {
    const text = '<A>\n<B>x</C>\n</A>'
    expect(checkWellFormed(text, 'element')?.offset).toBe(text.indexOf('</C>'))
  })

  it('reports the extent of skipped elements and of CDATA sections outside them', () => {
    const text = '<R><Keep>1</Keep><Skip><X><![CDATA[a]]></X></Skip><Keep><![CDATA[b]]></Keep><Skip/></R>'
    const collector: SkipCollector = { names: new Set(['Skip']), ranges: [], cdata: [] }
    expect(checkWellFormed(text, 'element', collector)).toBeUndefined()
    const slices = []
    for (let i = 0; i < collector.ranges.length; i += 2) slices.push(text.slice(collector.ranges[i], collector.ranges[i + 1]))
    expect(slices).toEqual(['<Skip><X><![CDATA[a]]></X></Skip>', '<Skip/>'])
    expect(text.slice(collector.cdata[0], collector.cdata[1])).toBe('<![CDATA[b]]>')
    expect(collector.cdata).toHaveLength(2)
  })

  it('still checks the inside of skipped elements', () => {
    const collector: SkipCollector = { names: new Set(['Skip']), ranges: [], cdata: [] }
    expect(checkWellFormed('<R><Skip><X>1</Y></Skip></R>', 'element', collector)).toMatchObject({ reason: 'end tag does not match start tag <X>' })
  })
})
