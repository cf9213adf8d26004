import { parentPort, workerData } from 'node:worker_threads'
import { createRecordBatchParser, type BatchSettings, type RecordBatch } from './parse-record-batch.ts'

/** Worker entry of the record parse pool (see parse-pool.ts): parses the batches it is sent, in order. */
if (!parentPort) throw new Error('parse-record-worker.ts must run in a worker thread')
const port = parentPort
const parser = createRecordBatchParser((workerData as { settings: BatchSettings }).settings)
port.on('message', (message: { id: number; batch: RecordBatch }) => {
  port.postMessage({ id: message.id, result: parser.parse(message.batch) })
})
