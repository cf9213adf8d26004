import { XMLValidator } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import { checkWellFormed, type SkipCollector } from '../../src/ingestion/cnaf/check-well-formed.ts'

/** Names the messages of these hand-made cases may quote (the real reader allows only the VRSB0801 schema's). */
const TEST_NAMES = new Set(['A', 'B', 'C', 'D', 'R', 'Skip', 'X', 'Y'])

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
    ['a repeated attribute', '<A a="1" a="2"/>', 'attribute 2 of <A> repeats an earlier one'],
    ['an unquoted attribute', '<A a=1/>', 'attribute 1 of <A> is not quoted'],
    ['an attribute without value', '<A a/>', 'attribute 1 of <A> has no value'],
    ['attributes without a space between', '<A a="1"b="2"/>', 'missing space before an attribute of <A>'],
    ['"<" in an attribute value', '<A a="<"/>', '"<" in the value of attribute 1 of <A>'],
    ['a name starting with a digit', '<1A/>', '"<" does not start a tag'],
    ['a space after <', '< A/>', '"<" does not start a tag'],
    ['an XML declaration inside', '<A><?xml version="1.0"?></A>', 'XML declaration not at the start of the document'],
    ['a NUL character', '<A>\u0000</A>', 'character not allowed in XML'],
    ['a vertical tab', '<A>\u000B</A>', 'character not allowed in XML'],
    ['U+FFFF', '<A>\uFFFF</A>', 'character not allowed in XML'],
    ['a lone surrogate', '<A>\uD800</A>', 'character not allowed in XML'],
    ['no element', '   ', 'no element'],
  ])('rejects %s', (_, text, reason) => {
    expect(checkWellFormed(text, 'element', undefined, undefined, { knownNames: TEST_NAMES })).toMatchObject({ rule: 'not_well_formed', reason })
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
    expect(checkWellFormed('<R><Skip><X>1</Y></Skip></R>', 'element', collector, undefined, { knownNames: TEST_NAMES })).toMatchObject({ reason: 'end tag does not match start tag <X>' })
  })
})

describe('checkWellFormed: limits and names', () => {
  it('rejects an element with more attributes than the limit, naming the rule and no attribute', () => {
    const attrs = Array.from({ length: 65 }, (_, i) => ` SECRETNAME${i}="v"`).join('')
    const fault = checkWellFormed(`<Personne${attrs}/>`, 'element')
    expect(fault).toMatchObject({ rule: 'too_many_attributes', reason: 'more than 64 attributes on <Personne>' })
    expect(checkWellFormed(`<Personne${attrs}/>`, 'element', undefined, undefined, { limits: { maxAttributes: 65 } })).toBeUndefined()
  })

  it('finds a repeated attribute among 200,000 (a Set, not a scan of the earlier ones)', () => {
    const attrs = Array.from({ length: 200_000 }, (_, i) => ` a${i}="1"`).join('')
    const limits = { maxAttributes: 300_000 }
    expect(checkWellFormed(`<A${attrs}/>`, 'element', undefined, undefined, { limits })).toBeUndefined()
    expect(checkWellFormed(`<A${attrs} a7="2"/>`, 'element', undefined, undefined, { limits })).toMatchObject({ reason: 'attribute 200001 of an unknown element repeats an earlier one' })
  })

  it('rejects elements nested deeper than the limit', () => {
    const deep = (n: number) => `${'<X>'.repeat(n)}${'</X>'.repeat(n)}`
    expect(checkWellFormed(deep(32), 'element')).toBeUndefined()
    expect(checkWellFormed(deep(33), 'element')).toMatchObject({ rule: 'too_deep', reason: 'elements nested deeper than 32 levels (at an unknown element)' })
    expect(checkWellFormed(deep(100_000), 'element')).toMatchObject({ rule: 'too_deep' })
  })

  it('rejects a text longer than the limit, comments and CDATA sections in it included', () => {
    const max = 1000
    const limits = { maxTextChars: max }
    expect(checkWellFormed(`<NOMNAI>${'a'.repeat(max)}</NOMNAI>`, 'element', undefined, undefined, { limits })).toBeUndefined()
    expect(checkWellFormed(`<NOMNAI>${'a'.repeat(max + 1)}</NOMNAI>`, 'element', undefined, undefined, { limits })).toMatchObject({
      rule: 'text_too_long',
      reason: 'text longer than 1000 characters in <NOMNAI>',
    })
    const split = `<NOMNAI>${'ab<!---->'.repeat(501)}</NOMNAI>`
    expect(checkWellFormed(split, 'element', undefined, undefined, { limits })).toMatchObject({ rule: 'text_too_long' })
    const cdata = `<NOMNAI>${'<![CDATA[ab]]>'.repeat(501)}</NOMNAI>`
    expect(checkWellFormed(cdata, 'element', undefined, undefined, { limits })).toMatchObject({ rule: 'text_too_long' })
    // Text between elements counts per run: many short children are fine.
    expect(checkWellFormed(`<Personne>${'<NOMNAI>abc</NOMNAI>'.repeat(1000)}</Personne>`, 'element', undefined, undefined, { limits })).toBeUndefined()
  })

  it('quotes only element names the schema declares, never an attribute name', () => {
    // A lost ">" runs the value into the name: <NIR>2921093965529 read as <NIR2921093965529.
    const cases = [
      '<Personne><NIR2921093965529</NIR></Personne>',
      '<Personne><NOMNAIFOFANA></NOMNAI></Personne>',
      '<Adresse><LIEUDISTLE MOULIN</LIEUDIST></Adresse>',
      '<Adresse><LIEUDIST LE="1" MOULIN="2" MOULIN="3"></LIEUDIST></Adresse>',
      '<Adresse><LIEUDIST MOULIN></LIEUDIST></Adresse>',
      '<Adresse><LIEUDIST MOULIN=x></LIEUDIST></Adresse>',
      '<Adresse><LIEUDIST MOULIN="<"></LIEUDIST></Adresse>',
      '<Personne><NOMNAIFOFANA>x</Personne>',
      '<Personne><NOMNAIFOFANA>',
      '<NOMNAIFOFANA/><NOMNAI/>',
    ]
    for (const text of cases) {
      const fault = checkWellFormed(text, 'element')
      expect(fault).toBeDefined()
      expect(fault?.reason).not.toMatch(/2921093965529|FOFANA|MOULIN|NIR2|LIEUDISTLE/)
    }
  })
})
