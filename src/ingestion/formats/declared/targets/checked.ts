import type { RejectedRecord } from '../../../records/parsed-record.ts'
import { writeRejections } from '../../file-load.ts'
import { unknownIds, type RecordTarget } from './target.ts'

/**
 * Records read and checked, none stored: for a file a producer sends that no purpose needs yet (the SPIE actions
 * extract: action labels such as « PARCOURS EMPLOI SANTE » reveal health, and no purpose declares actions). The
 * file is still decrypted, read whole, checked field by field, loaded or rejected whole and acknowledged, like every
 * flow; a broken rule is a rejection row (file, record, field, rule, never the value). It takes no canonical field:
 * storing actions is a new dataset (catalogue fields, a table, a retention policy), not a line of YAML.
 */
const ACCEPTS: ReadonlySet<string> = new Set()

export const checked: RecordTarget = {
  accepts: ACCEPTS,
  check(input) {
    return unknownIds(input, ACCEPTS, 'checked')
  },
  async store({ tx, fileId, state, issues, report }, records) {
    for await (const batch of records) {
      const failed: RejectedRecord[] = []
      for (const r of batch) if (!r.ok) failed.push(r)
      state.total += batch.length
      state.rejected += failed.length
      await writeRejections(tx, fileId, failed, issues)
      report.progress(state.total)
    }
    report.progress(state.total, true)
  },
}
